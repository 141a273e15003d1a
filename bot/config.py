"""Settings: a TOML file overridden by ``LINLI_*`` environment variables.

``LINLI_TELEGRAM__TOKEN`` sets ``[telegram] token``; the double underscore
descends into a table. Environment beats the file, the file beats defaults.
"""

from __future__ import annotations

import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.i18n import Told

DEFAULT_CONFIG_FILE = Path("config.toml")
LANGUAGES = ("zh_Hans", "en")


class Section(BaseModel):
    """A ``[table]`` of the settings: a key it does not know is a typo, refused by name."""

    model_config = ConfigDict(extra="forbid")


class TelegramSettings(Section):
    token: SecretStr | None = None
    bot_username: str | None = None
    api_base_url: str = "https://api.telegram.org/bot"
    file_base_url: str = "https://api.telegram.org/file/bot"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(8443, ge=1, le=65535)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None

    @field_validator("webhook_url")
    @classmethod
    def _web_address(cls, url: str | None) -> str | None:
        if url is not None and not re.fullmatch(r"https?://[^/\s]+/\S*", url):
            raise ValueError("must be the public URL Telegram calls, like https://host/telegram")
        return url

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_accepts(cls, secret: SecretStr | None) -> SecretStr | None:
        # Telegram's rule for secret_token; the value itself never goes into the message.
        allowed = r"[A-Za-z0-9_-]{1,256}"
        if secret is not None and not re.fullmatch(allowed, secret.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return secret


class DatabaseSettings(Section):
    url: str = "sqlite+aiosqlite:///linli.db"

    @field_validator("url")
    @classmethod
    def _known_driver(cls, url: str) -> str:
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return url


class BindingSettings(Section):
    residents_per_household: int = Field(5, ge=1)
    wrong_codes_allowed: int = Field(5, ge=1)
    wrong_code_window_minutes: int = Field(60, ge=1)


class ConsultationSettings(Section):
    threshold_percent: int = Field(80, ge=1, le=100)
    reminder_hours_before: int = Field(48, ge=0)
    reminder_quiet_minutes: int = Field(60, ge=0)
    menu_min_items: int | None = Field(None, ge=0)
    menu_max_items: int | None = Field(None, ge=1)
    menu_budget_yuan: int | None = Field(None, gt=0)
    menu_inclusion_percent: int = Field(50, ge=1, le=100)
    # The Civil Code's double tally beside the 80% rule, when floor areas are registered.
    double_tally: bool = False
    double_tally_participating: str = "2/3"
    double_tally_agreeing: str = "3/4"

    @field_validator("double_tally_participating", "double_tally_agreeing")
    @classmethod
    def _a_share(cls, typed: str) -> str:
        try:
            value = Fraction(typed)
        except (ValueError, ZeroDivisionError):
            raise ValueError("must be a share like 2/3 or 0.75") from None
        if not 0 < value <= 1:
            raise ValueError("must be a share above 0 and at most 1")
        return typed

    @property
    def double_tally_shares(self) -> tuple[Fraction, Fraction]:
        return Fraction(self.double_tally_participating), Fraction(self.double_tally_agreeing)

    @property
    def menu_budget_fen(self) -> int | None:
        return self.menu_budget_yuan * 100 if self.menu_budget_yuan is not None else None


class OfflineSettings(Section):
    """Answers staff bring in from paper forms and door-to-door visits."""

    staff_replaces_bot: Literal["with_reason", "never"] = "with_reason"
    evidence_dir: Path = Path("evidence")
    evidence_max_kb: int = Field(10240, ge=1)


class DeliverySettings(Section):
    messages_per_second: float = Field(25, gt=0)
    per_chat_interval_seconds: float = Field(1.0, ge=0)
    stale_claim_seconds: float = Field(30, gt=0)


class SchedulerSettings(Section):
    sweep_seconds: float = Field(30, gt=0)
    notice_grace_minutes: int = Field(60, ge=0)


class RepairSettings(Section):
    number_prefix: str = Field("JX", pattern=r"^[A-Z]{1,6}$")
    fund_delivered_before: int = Field(2000, ge=1900, le=2100)
    emergency_categories: list[str] = ["gas", "fall_hazard", "fire_equipment", "power"]
    owners_percent: int = Field(20, ge=0, le=100)
    triage_reminder_hours: float = Field(24, gt=0)
    triage_escalation_hours: float = Field(48, gt=0)


class AskSettings(Section):
    staff_reminder_hours: float = Field(48, gt=0)


class WebSettings(BaseModel):
    """The web side: what city systems and officials reach over HTTP."""

    serve: bool = False  # inside ``linli run`` too; ``linli web`` serves it alone
    listen: str = "127.0.0.1"
    port: int = Field(8081, ge=1, le=65535)
    # Where people's browsers and city systems reach it (behind a proxy, HTTPS).
    public_url: str = "http://127.0.0.1:8081"
    # The officials' pages: a login link the bot sends works once, within these minutes;
    # the browser it logged in stays logged in for these hours.
    login_link_minutes: int = Field(15, ge=1)
    session_hours: int = Field(8, ge=1)
    # Open311 (/open311/v2): the most requests one answer holds (the spec's default limit),
    # each key's calls a minute and at once, the largest request body, who to ask about it.
    open311_page_size: int = Field(1000, ge=1)
    open311_calls_per_minute: float = Field(60, gt=0)
    open311_burst: int = Field(10, ge=1)
    open311_max_body_kb: int = Field(16, ge=1)
    open311_contact: str = ""

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, url: str) -> str:
        if not re.fullmatch(r"https?://[^/\s]+(/\S*)?", url):
            raise ValueError("must be an address like https://linli.example.gov.cn")
        return url.rstrip("/")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LINLI_", env_nested_delimiter="__", extra="forbid"
    )

    telegram: TelegramSettings = TelegramSettings()
    database: DatabaseSettings = DatabaseSettings()
    binding: BindingSettings = BindingSettings()
    consultation: ConsultationSettings = ConsultationSettings()
    offline: OfflineSettings = OfflineSettings()
    delivery: DeliverySettings = DeliverySettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    repair: RepairSettings = RepairSettings()
    ask: AskSettings = AskSettings()
    web: WebSettings = WebSettings()
    timezone: str = "Asia/Shanghai"
    default_language: Literal["zh_Hans", "en"] = "zh_Hans"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = settings_cls.model_config.get("toml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


class SettingsError(Told):
    """A setting is missing or wrong; the message is one line naming it."""


def load_settings(config_file: Path | None = None) -> Settings:
    """Read settings from ``config_file`` (or ./config.toml if present) and the environment."""
    if config_file is not None and not config_file.is_file():
        raise SettingsError("config file {file} does not exist", file=config_file)
    if config_file is None and DEFAULT_CONFIG_FILE.is_file():
        config_file = DEFAULT_CONFIG_FILE

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=config_file)

    try:
        return FileSettings()
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(str(part) for part in first["loc"])
        if first["type"] == "extra_forbidden":
            raise _unknown_setting(first["loc"], config_file) from None
        raise SettingsError("setting {name}: {problem}", name=name, problem=first["msg"]) from None
    except ValueError as error:  # a TOML syntax error
        raise SettingsError("config file {file}: {error}", file=config_file, error=error) from None


def _unknown_setting(where: tuple[int | str, ...], config_file: Path | None) -> SettingsError:
    """A key no setting has, named with where it was written and the keys known beside it."""
    from bot.i18n import configured_language, text

    *section, key = (str(part) for part in where)
    model: type[BaseModel] = Settings
    for part in section:
        model = model.model_fields[part].annotation  # type: ignore[assignment]
    variable = "LINLI_" + "__".join((*section, key)).upper()
    source = variable if variable in os.environ else str(config_file)
    return SettingsError(
        text(
            configured_language(config_file),
            "config.unknown_key",
            name=".".join((*section, key)),
            source=source,
            known=", ".join(model.model_fields),
        )
    )


def require_token(settings: Settings) -> str:
    """The bot token, or a SettingsError that tells a newcomer where to get one."""
    if settings.telegram.token is None or not settings.telegram.token.get_secret_value():
        raise SettingsError(
            "setting telegram.token is missing: create a bot with @BotFather in Telegram and "
            "put its token in config.toml or LINLI_TELEGRAM__TOKEN; "
            "to try linli without Telegram, run 'linli demo'"
        )
    return settings.telegram.token.get_secret_value()
