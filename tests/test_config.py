"""Settings come from a TOML file and LINLI_* variables; mistakes stop with one clear line."""

from __future__ import annotations

import pytest

from bot.config import SettingsError, load_settings, require_token


def test_defaults_embedded_sqlite_and_shanghai(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.database.url == "sqlite+aiosqlite:///linli.db"
    assert settings.timezone == "Asia/Shanghai"
    assert settings.default_language == "zh_Hans"
    assert settings.telegram.api_base_url == "https://api.telegram.org/bot"


def test_file_then_environment(tmp_path, monkeypatch):
    config = tmp_path / "linli.toml"
    config.write_text(
        '[telegram]\ntoken = "1:FROM-FILE"\nmode = "webhook"\n'
        '[database]\nurl = "postgresql+asyncpg://postgres@127.0.0.1/linli"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("LINLI_TELEGRAM__TOKEN", "2:FROM-ENV")
    monkeypatch.setenv("LINLI_BINDING__RESIDENTS_PER_HOUSEHOLD", "3")
    settings = load_settings(config)
    assert require_token(settings) == "2:FROM-ENV"
    assert settings.telegram.mode == "webhook"
    assert settings.database.url.startswith("postgresql+asyncpg://")
    assert settings.binding.residents_per_household == 3


def test_config_toml_in_working_directory_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text('default_language = "en"\n', encoding="utf-8")
    assert load_settings().default_language == "en"


@pytest.mark.parametrize(
    ("toml", "env", "expected"),
    [
        ('[telegram]\nmode = "carrier-pigeon"\n', {}, "setting telegram.mode"),
        ('timezone = "Mars/Olympus"\n', {}, "setting timezone: Value error, unknown time zone"),
        ("", {"LINLI_DATABASE__URL": "mysql://x"}, "setting database.url"),
        ("", {"LINLI_TELEGRAM__WEBHOOK_PORT": "99999"}, "setting telegram.webhook_port"),
        ('[telegram]\nwebhook_url = "linli.example.org"\n', {}, "setting telegram.webhook_url"),
        (
            "",
            {"LINLI_TELEGRAM__WEBHOOK_SECRET": "no spaces allowed"},
            "setting telegram.webhook_secret",
        ),
        ("[telegram\n", {}, "config file"),
    ],
)
def test_invalid_setting_is_one_line_naming_it(tmp_path, monkeypatch, toml, env, expected):
    config = tmp_path / "config.toml"
    config.write_text(toml, encoding="utf-8")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings(config)
    assert str(error.value).startswith(expected)
    assert "\n" not in str(error.value)
    assert "no spaces allowed" not in str(error.value)  # a secret is never repeated


@pytest.mark.parametrize(
    ("toml", "env", "expected"),
    [
        (
            '[database]\nurll = "sqlite+aiosqlite:///elsewhere.db"\n',
            {},
            "{file}：没有设置项database.urll（是否拼写有误？）；此处可用的设置项：url",
        ),
        (
            "colour = 'red'\n",
            {"LINLI_DEFAULT_LANGUAGE": "en"},
            "{file}: there is no setting colour (a typo?); known here: telegram, database,",
        ),
        (
            'default_language = "en"\n[ask]\nstaff_reminder = 4\n',
            {},
            "{file}: there is no setting ask.staff_reminder (a typo?); known here: "
            "staff_reminder_hours",
        ),
        ("", {"LINLI_REPAIR__OWNER_PERCENT": "30"}, "LINLI_REPAIR__OWNER_PERCENT：没有设置项"),
    ],
)
def test_an_unknown_key_is_refused_with_its_name_and_where(
    tmp_path, monkeypatch, toml, env, expected
):
    config = tmp_path / "config.toml"
    config.write_text(toml, encoding="utf-8")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings(config)
    assert str(error.value).startswith(expected.format(file=config))


def test_missing_token_says_where_to_get_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError, match="BotFather") as error:
        require_token(load_settings())
    assert "linli demo" in str(error.value)


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
