"""The linli command as an operator types it: imports, invites, staff, clear errors."""

from __future__ import annotations

import ast
import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from pypdf import PdfReader

from bot.cli import app
from bot.cli.translation import CLICK_ERRORS, commands, help_texts
from bot.flows import people
from bot.flows.people import meet
from bot.i18n import shell_catalogue
from tests.registry import DATA, import_sample_registry
from tests.test_consultation import bind_all

LINLI = [sys.executable, "-c", "from bot.cli import main; main()"]


@pytest.fixture
def linli(tmp_path, database_url, db):
    """Run ``linli`` in a fresh folder against the test database."""
    environment = {
        **os.environ,
        "LINLI_DATABASE__URL": database_url,
        "LINLI_TELEGRAM__BOT_USERNAME": "linli_test_bot",
    }

    def run(*args: str, **changed: str) -> subprocess.CompletedProcess:
        """``changed`` settings' variables replace the test's: ``LINLI_DEFAULT_LANGUAGE="en"``."""
        return subprocess.run(
            [*LINLI, *args],
            cwd=tmp_path,
            env={**environment, **changed},
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def test_import_export_and_staff_round_trip(linli, tmp_path):
    assert "3 new" in linli("import", "communities", str(DATA / "communities.csv")).stdout
    assert "17 new" in linli("import", "households", str(DATA / "households.csv")).stdout
    again = linli("import", "households", str(DATA / "households.csv"))
    assert "0 new, 17 already registered" in again.stdout

    exported = linli("invites", "export", "--community", "南溪小区", "--out", "nanxi.csv")
    assert exported.returncode == 0, exported.stderr
    with open(tmp_path / "nanxi.csv", encoding="utf-8-sig") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 12
    assert rows[0]["小区"] == "南溪小区"
    assert rows[0]["链接"] == (
        "https://t.me/linli_test_bot?start=" + rows[0]["邀请码"].replace("-", "")
    )
    assert len(PdfReader(tmp_path / "nanxi.pdf").pages) == 2  # eight slips a page

    # A lost slip: that household alone gets a new code, the old one stops working.
    lost = next(r for r in rows if (r["楼栋"], r["单元"], r["室"]) == ("1", "1", "101"))
    reissued = linli(
        "invites", "export", "--community", "南溪小区", "--household", "1-1-101", "--out", "one.csv"
    )
    assert reissued.returncode == 0, reissued.stderr
    assert "1 invite codes" in reissued.stdout
    with open(tmp_path / "one.csv", encoding="utf-8-sig") as file:
        (new,) = list(csv.DictReader(file))
    assert (new["楼栋"], new["室"]) == ("1", "101") and new["邀请码"] != lost["邀请码"]
    one = linli("invites", "revoke", "--community", "南溪小区", "--household", "1-1-102")
    assert "1 invite codes revoked" in one.stdout
    nobody = linli("invites", "revoke", "--community", "南溪小区", "--household", "9-9-909")
    assert nobody.returncode == 2
    assert nobody.stderr.strip() == ("linli: 本小区没有住户'9-9-909'（楼栋-单元-室）")
    assert "11 invite codes revoked" in linli("invites", "revoke", "--community", "南溪小区").stdout

    added = linli(
        "staff", "add", "--telegram-id", "5001", "--role", "staff", "--community", "南溪小区"
    )
    assert added.returncode == 0 and "5001 is staff" in added.stdout
    assert "no longer staff" in linli("staff", "remove", "--telegram-id", "5001").stdout


@pytest.mark.parametrize(
    "args",
    [
        ("import", "households", "nowhere.csv"),
        ("staff", "add", "--telegram-id", "1", "--role", "staff"),
        ("staff", "add", "--telegram-id", "1", "--role", "staff", "--community", "无名小区"),
        ("staff", "remove", "--telegram-id", "1"),
        ("invites", "export", "--community", "无名小区", "--out", "x.csv"),
        ("--config", "missing.toml", "db", "upgrade"),
        ("run",),
    ],
)
def test_mistakes_get_one_line_and_no_traceback(linli, args):
    result = linli(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("linli: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def one_line(result: subprocess.CompletedProcess) -> str:
    """The error of a command that failed as an operator's mistake: one line, no traceback."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    return line


@pytest.mark.parametrize(
    ("url", "place", "reason"),
    [
        ("postgresql+asyncpg://linli:secret@127.0.0.1:1/linli", "linli:***@127.0.0.1:1", "111"),
        ("sqlite+aiosqlite:///no/such/folder/linli.db", "no/such/folder/linli.db", "unable"),
    ],
)
def test_a_database_that_cannot_be_opened_is_one_line(linli, url, place, reason):
    for command in [("db", "upgrade"), ("import", "communities", "x.csv"), ("run",)]:
        chinese = one_line(linli(*command, LINLI_DATABASE__URL=url, LINLI_TELEGRAM__TOKEN="1:A"))
        assert chinese.startswith("linli: 无法打开数据库") and place in chinese
        assert reason in chinese and "secret" not in chinese
    english = one_line(linli("db", "upgrade", LINLI_DATABASE__URL=url, LINLI_DEFAULT_LANGUAGE="en"))
    assert english.startswith("linli: cannot open the database ") and place in english


def test_only_run_upgrade_and_import_make_a_database(linli, tmp_path: Path):
    here = {"LINLI_DATABASE__URL": "sqlite+aiosqlite:///linli.db"}
    for command in [
        ("staff", "list"),
        ("consult", "results"),
        ("invites", "revoke", "--community", "南溪小区"),
    ]:
        told = one_line(linli(*command, **here))
        assert f"{tmp_path / 'linli.db'}处没有邻里数据库" in told
        assert "linli db upgrade" in told
    assert not (tmp_path / "linli.db").exists()
    english = one_line(linli("staff", "list", **here, LINLI_DEFAULT_LANGUAGE="en"))
    assert english == (
        f"linli: no linli database at {tmp_path / 'linli.db'} (setting database.url): create it"
        " with 'linli db upgrade' or 'linli import communities FILE', or run linli in the"
        " folder of your config.toml"
    )
    assert linli("db", "upgrade", **here).returncode == 0
    assert linli("staff", "list", **here).returncode == 0


def test_a_misspelt_setting_is_refused_by_name(linli, tmp_path: Path):
    (tmp_path / "config.toml").write_text('[database]\nurll = "sqlite+aiosqlite:///x.db"\n')
    assert one_line(linli("staff", "list")) == (
        "linli: config.toml：没有设置项database.urll（是否拼写有误？）；此处可用的设置项：url"
    )
    assert not (tmp_path / "x.db").exists()


async def test_staff_and_households_are_listed(db, linli):
    await import_sample_registry(db)
    await bind_all(db, "运南新村")  # one resident each, by an invite code still active
    async with db.session() as session:
        await meet(session, 5001, "王网格", "zh-hans")
    assert linli("staff", "list").stdout == "还没有工作人员：请用 'linli staff add' 添加\n"
    serves = ("--community", "运南新村", "--community", "南溪小区")
    linli("staff", "add", "--telegram-id", "5001", "--role", "staff", *serves)
    linli("staff", "add", "--telegram-id", "9", "--role", "admin")
    assert linli("staff", "list").stdout.splitlines() == [
        "Telegram ID\t名字\t角色\t小区",
        "9\t-\t管理员\t全部",
        "5001\t王网格\t工作人员\t南溪小区, 运南新村",
    ]
    assert linli("staff", "list", LINLI_DEFAULT_LANGUAGE="en").stdout.splitlines()[1:] == [
        "9\t-\tadmin\tall",
        "5001\t王网格\tstaff\t南溪小区, 运南新村",
    ]

    assert linli("households", "list", "--community", "运南新村").stdout.splitlines() == [
        "住户\t已绑定居民\t有效邀请码",
        "5--101\t1\t有",
        "5--102\t1\t有",
        "5--103\t1\t有",
        "共3户，无人绑定0户",
    ]
    nanxi = linli("households", "list", "--community", "南溪小区", "--unbound")
    assert nanxi.stdout.splitlines()[1] == "1-1-101\t0\t无"
    assert nanxi.stdout.splitlines()[-1] == "共12户，无人绑定12户"
    english = linli(
        "households", "list", "--community", "运南新村", "--unbound", LINLI_DEFAULT_LANGUAGE="en"
    )
    assert english.stdout.splitlines() == [
        "household\tbound residents\tactive invite code",
        "households: 3, with nobody bound: 0",
    ]
    assert one_line(linli("households", "list", "--community", "火星小区")) == (
        "linli: 没有名为火星小区的小区；已有的小区：南溪小区, 梅湾花园, 运南新村"
    )


def test_the_household_import_says_what_it_read_as_numbers(linli, tmp_path: Path):
    linli("import", "communities", str(DATA / "communities.csv"))
    (tmp_path / "more.csv").write_text(
        "小区,楼栋,单元,室\n南溪小区,三幢,一单元,101室\n南溪小区,三幢,1单元,102室\n",
        encoding="utf-8",
    )
    assert linli("import", "households", "more.csv").stdout.splitlines() == [
        "households: 2 new, 0 already registered",
        "楼栋 '三幢' 读作3（2行）",
        "单元 '一单元' 读作1（1行）",
    ]
    english = linli("import", "households", "more.csv", LINLI_DEFAULT_LANGUAGE="en")
    assert english.stdout.splitlines()[1:] == [
        "building '三幢' read as 3 (rows: 2)",
        "unit '一单元' read as 1 (rows: 1)",
    ]


def test_help_is_in_the_configured_language(linli, tmp_path: Path):
    chinese = linli("--help").stdout
    assert "邻里（linli）：老旧小区居民的 Telegram 机器人。" in chinese
    assert "households  已登记的住户。" in chinese
    (tmp_path / "en.toml").write_text('default_language = "en"\n', encoding="utf-8")
    english = linli("--config", "en.toml", "households", "list", "--help").stdout
    assert "only households nobody is bound to" in english
    # click's own words too, and its usage errors with what was typed in them.
    assert "用法：linli [OPTIONS] COMMAND" in chinese and "选项：" in chinese
    assert "显示本帮助并退出。" in chinese and "命令：" in chinese
    assert "[默认：20; x>=1]" in linli("db", "skipped", "--help").stdout
    missing = linli("repair", "manager", "--community", "梅湾花园").stderr
    assert "运行「linli repair manager --help」查看帮助。" in missing
    assert "错误：缺少选项'--manager'。" in missing
    assert "错误：'--limit'的值无效：应大于或等于1" in linli("db", "skipped", "--limit", "0").stderr
    assert (
        "错误：没有选项--lim（可用的选项：--limit）" in linli("db", "skipped", "--lim", "1").stderr
    )
    english = linli("--config", "en.toml", "repair", "manager", "--community", "梅湾花园").stderr
    assert "Usage: linli repair manager" in english
    assert "Error: Missing option '--manager'." in english


# The operator's mistakes, and where their English template is among the arguments.
TOLD = {"CommandError": 0, "RegistryError": 0, "SettingsError": 0, "Told": 0, "TableError": 3}


def told_templates() -> set[str]:
    """Every template the code tells the operator a mistake with: the literal string given
    to one of ``TOLD`` (or to a helper called ``problem`` that makes a TableError)."""
    found = set()
    for path in (Path(__file__).parent.parent / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            at = {**TOLD, "problem": 1}.get(name or "")
            if at is not None and len(node.args) > at:
                template = node.args[at]
                if isinstance(template, ast.Constant) and isinstance(template.value, str):
                    found.add(template.value)
    return found


def test_every_help_text_has_its_chinese():
    translated = shell_catalogue("zh_Hans")
    root = typer.main.get_command(app)
    assert [text for c in commands(root) for text in help_texts(c) if text not in translated] == []
    assert [words for words in CLICK_ERRORS if words not in translated] == []
    templates = told_templates()
    assert len(templates) > 50 and "{typed!r} is not a year" in templates
    assert sorted(template for template in templates if template not in translated) == []


def test_bad_row_names_file_line_and_column(linli, tmp_path: Path):
    linli("import", "communities", str(DATA / "communities.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_text("小区,楼栋,单元,室\n南溪小区,1,1,101\n火星小区,1,1,101\n", encoding="utf-8")
    result = linli("import", "households", str(bad))
    assert result.returncode == 2
    assert "bad.csv第3行'community'列：未知的小区'火星小区'；请先导入它" in result.stderr
    english = linli("import", "households", str(bad), LINLI_DEFAULT_LANGUAGE="en").stderr
    assert "bad.csv, line 3, column 'community': unknown community '火星小区'" in english


def test_faq_menu_and_fund_commands(linli, tmp_path):
    linli("import", "communities", str(DATA / "communities.csv"))
    exported = linli("faq", "export", "faq.yaml")
    assert exported.returncode == 0 and "12 FAQ entries" in exported.stdout, exported.stderr
    assert "0 new, 12 already there" in linli("faq", "import", "faq.yaml").stdout
    assert linli("faq", "export", "faq.xlsx").returncode == 0
    assert (tmp_path / "faq.xlsx").stat().st_size > 0
    assert "请写.csv、.xlsx或.yaml" in linli("faq", "export", "faq.txt").stderr

    listed = linli("menu", "list").stdout.splitlines()
    assert len(listed) == 27 and listed[0].startswith("B01\tbasic\t¥800,000\t屋面整修")

    manager = linli("repair", "manager", "--community", "梅湾花园", "--manager", "禾城物业")
    assert "property manager 禾城物业; residents given the phone" in manager.stdout
    account = ("--community", "梅湾花园", "--manager", "禾城物业", "--telegram-id", "9700")
    assert "repairs sent to their Telegram account" in linli("repair", "manager", *account).stdout
    nameless = linli(
        "repair", "manager", "--community", "梅湾花园", "--manager", "", "--telegram-id", "1"
    )
    assert nameless.returncode == 2 and "--telegram-id需要同时用--manager" in nameless.stderr
    report = linli("report", "fund", "--from", "2026-01-01", "--out", "fund.csv")
    assert "total\tuses 0\t0.00 yuan" in report.stdout
    assert (tmp_path / "fund.xlsx").exists()
    assert "请写成2026-01-01这样" in linli("report", "fund", "--from", "1.1.2026").stderr


async def test_db_skipped_lists_the_updates_given_up_on(linli, db):
    assert "no update was skipped" in linli("db", "skipped").stdout
    async with db.session() as session:
        await people.claim_update(session, 41)
        await people.skip_update(session, 41, "failed: ValueError", {"update_id": 41}, tries=3)
    listed = linli("db", "skipped", "--limit", "5")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("41\t") and "3 tries\tfailed: ValueError" in listed.stdout
    assert linli("db", "skipped", "--limit", "0").returncode == 2  # a clear usage error
