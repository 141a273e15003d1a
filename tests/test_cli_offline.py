"""Offline answers through ``linli consult``: record, import-answers, missing and turnout."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from sqlmodel import select

from storage.models import AuditEvent, Ballot
from tests import test_cli
from tests.registry import import_sample_registry
from tests.test_cli_rounds import refused, shown
from tests.test_consultation import bind_all, open_round, vote
from tests.test_offline import PNG

linli = test_cli.linli


async def ballots(db) -> list[Ballot]:
    async with db.session() as session:
        return list(await session.exec(select(Ballot).order_by(Ballot.id)))


async def test_record_a_household_from_the_shell(db, linli, tmp_path: Path):
    await import_sample_registry(db)
    residents = await bind_all(db, "运南新村")
    opened = await open_round(db, "运南新村")
    (tmp_path / "form.png").write_bytes(PNG)
    (tmp_path / "form.txt").write_text("not a scan", encoding="utf-8")
    (tmp_path / "huge.pdf").write_bytes(b"%PDF-1.4" + b"\0" * 11 * 1024 * 1024)
    where = ("consult", "record", "--community", "运南新村")
    done = linli(*where, "--household", "5-101", "--answer", "同意", "--evidence", "form.png")
    assert shown(done) == ["运南新村 5-101: agree (recorded)"]
    (stored,) = await ballots(db)
    assert stored.channel == "paper" and stored.cast_by is None
    assert (tmp_path / "evidence" / stored.evidence.removeprefix("file:")).read_bytes() == PNG
    assert shown(linli(*where, "--household", "5-101", "--answer", "agree")) == [
        "运南新村 5-101: agree (unchanged, already so)"
    ]

    await vote(db, opened.id, residents["5--102"], "disagree")
    for args, problem in [
        (["--household", "5-102", "--answer", "agree"], "已在机器人中亲自答复"),
        (["--household", "5-109", "--answer", "agree"], "运南新村没有住户5-109"),
        (["--household", "5-103", "--answer", "maybe"], "只能是同意或不同意"),
        (
            ["--household", "5-103", "--answer", "agree", "--evidence", "form.txt"],
            "只能是图片或 PDF 文件",
        ),
        (["--household", "5-103", "--answer", "agree", "--evidence", "huge.pdf"], "太大"),
        (["--household", "5-103"], "请给出--answer"),
    ]:
        assert problem in refused(linli(*where, *args)), args
    other = ("consult", "record", "--community", "梅湾花园", "--household", "8-1-101")
    assert "没有进行中的第1轮征询" in refused(linli(*other, "--answer", "agree"))
    assert len(await ballots(db)) == 2  # 5-101 from the shell, 5-102 from the bot

    reason = ("--reason", "户主在纸质表上改签")
    assert shown(linli(*where, "--household", "5-102", "--answer", "agree", *reason)) == [
        "运南新村 5-102: agree (recorded)"
    ]
    assert [(b.choice, b.channel, b.note) for b in await ballots(db)][1] == (
        "agree",
        "proxy",
        "户主在纸质表上改签",
    )


async def test_import_answers_missing_and_turnout(db, linli, tmp_path: Path):
    await import_sample_registry(db)
    await bind_all(db, "运南新村")
    opened = await open_round(db, "运南新村")
    forms = tmp_path / "forms.csv"
    forms.write_text(
        "\ufeffcommunity,building,unit,room,answer,date,collector\n"
        "运南新村,5,,101,agree,2026-12-01,Li\n"
        "运南新村,5,,101,disagree,2026-12-01,Li\n",
        encoding="utf-8",
    )
    assert "第3行'room'列：与第2行是同一户" in refused(
        linli("consult", "import-answers", "forms.csv")
    )
    # The scan of each form lies beside the table; one that is no image refuses the file.
    (tmp_path / "scans").mkdir()
    (tmp_path / "scans" / "5-101.png").write_bytes(PNG)
    (tmp_path / "scans" / "5-101.txt").write_text("not a scan", encoding="utf-8")
    for scan, problem in [
        ("scans/5-101.txt", "第2行'evidence'列：凭证只能是图片或 PDF 文件。"),
        ("scans/none.png", "第2行'evidence'列："),
    ]:
        forms.write_text(
            "community,building,unit,room,answer,date,collector,扫描件\n"
            f"运南新村,5,,101,agree,2026-12-01,Li,{scan}\n",
            encoding="utf-8",
        )
        assert problem in refused(linli("consult", "import-answers", "forms.csv"))
    assert await ballots(db) == []
    forms.write_text(
        "community,building,unit,room,answer,date,collector,扫描件\n"
        "运南新村,5,,101,agree,2026-12-01,Li,scans/5-101.png\n",
        encoding="utf-8",
    )
    assert shown(linli("consult", "import-answers", "forms.csv")) == [
        "answers: 1 recorded, 0 unchanged"
    ]
    assert shown(linli("consult", "import-answers", "forms.csv")) == [
        "answers: 0 recorded, 1 unchanged"
    ]
    async with db.session() as session:
        (event,) = await session.exec(select(AuditEvent).where(AuditEvent.action == "ballot/cast"))
    assert event.details["channel"] == "paper" and event.details["collector"] == "Li"
    assert event.details["answered_on"] == "2026-12-01" and event.actor == "cli"
    (paper,) = await ballots(db)
    assert paper.evidence is not None and paper.evidence.endswith(".png")
    assert (tmp_path / "evidence" / paper.evidence.removeprefix("file:")).read_bytes() == PNG

    printed = shown(linli("consult", "missing", "--community", "运南新村", "--out", "knock.xlsx"))
    assert printed == [
        "5\t\t102\tresidents 1",
        "5\t\t103\tresidents 1",
        "2 of 3 households have not answered",
        "door-knocking sheet: knock.xlsx and knock.pdf",
    ]
    sheet = load_workbook(tmp_path / "knock.xlsx").active
    assert [c.value for c in sheet[1]][:4] == [
        "楼栋 building",
        "单元 unit",
        "室 room",
        "已绑定居民 residents bound",
    ]
    assert sheet["D2"].value == 1 and sheet["D2"].data_type == "n"
    assert (tmp_path / "knock.pdf").read_bytes().startswith(b"%PDF")

    printed = shown(linli("consult", "turnout", "--community", "运南新村", "--out", "t.xlsx"))
    assert printed[:2] == ["5\t3\t1\t33.3%", "合计 total\t3\t1\t33.3%"]
    assert printed[2:] == ["机器人 bot\t\t0\t", "纸质表 paper\t\t1\t", "代登记 proxy\t\t0\t"]
    turnout = load_workbook(tmp_path / "t.xlsx").active
    assert (turnout["B2"].value, turnout["C2"].data_type) == (3, "n")
    assert opened.total_households == 3
