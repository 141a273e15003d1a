"""Every household counted, end to end: bot answers, a grid worker's entries in the chat
(one with a photo of the signed form), a paper CSV through ``linli``, and who is missing."""

from __future__ import annotations

import asyncio
import base64
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.flows import consultation, registry, round2
from bot.flows.audit import CLI
from bot.i18n import text
from storage.models import Ballot, Role
from storage.types import utcnow
from tests import test_cli
from tests.e2e.conftest import buttons, has
from tests.e2e.test_bad_input import PNG
from tests.e2e.test_round1 import ADMIN, import_city, next_message
from tests.registry import import_sample_registry, issue_codes

linli = test_cli.linli  # ``linli ARGS`` in a subprocess against the test database
GRID = 9002  # a grid worker (网格员) of 解放新村
HOUSEMATE = 8100  # a second resident of 1-1-101


async def shell(linli, *args: str) -> list[str]:
    """``linli ARGS`` beside the running bot (in a thread: the bot's loop keeps going)."""
    result = await asyncio.to_thread(linli, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


async def press(somebody, label: str, replies: int = 1) -> list[str]:
    message = await somebody.last_message()
    return await somebody.press(message, buttons(message)[label], replies=replies)


async def grid_worker_records(worker, address: str | None, answer: str, photo: bool) -> None:
    """One household at the door: the address typed (or the offered next door pressed),
    the answer, the photo of the form or none, confirmed."""
    if address is None:
        prompt = await worker.last_message()
        assert "下一户" in prompt["text"]
        next_door = next(label for label in buttons(prompt) if "107" in label)
        asked = (await press(worker, next_door))[0]
    else:
        asked = await worker.say(address)
    assert "这户的答复是？" in asked
    assert "签字的纸质征询表照片" in (await press(worker, answer))[0]
    if photo:
        preview = await worker.say(None, photo_b64=PNG)
    else:
        (preview,) = await press(worker, "不附照片")
    assert "请确认登记" in preview
    recorded, following = await press(worker, "确认登记", replies=2)
    assert "已登记" in recorded and answer in recorded


@pytest.mark.slow
async def test_ten_households_on_every_channel_pass_with_exactly_eight(
    db, tmp_path, person, telegram, linli
):
    await import_city(db, tmp_path)
    async with db.session() as session:
        await registry.add_staff(session, GRID, Role.STAFF, ["解放新村"], CLI)
        found = await registry.community_named(session, "解放新村")
    codes = await issue_codes(db, "解放新村")
    residents = [person(8000 + i, f"居民{i}") for i in range(5)]  # 1-1-101 .. 1-1-105
    for resident, room in zip(residents, range(101, 106), strict=True):
        assert "绑定成功" in await resident.say(f"/start {codes[f'1-1-{room}']}")
    housemate = person(HOUSEMATE, "老伴")
    assert "绑定成功" in await housemate.say(f"/start {codes['1-1-101']}")
    seq = await telegram.last_seq()
    async with db.session() as session:
        opened = await consultation.open_round1(
            session, found.id, "改造意愿征询", "同意改造吗？", utcnow() + timedelta(days=3), CLI
        )

    # Five households answer in the bot; 1-1-101 disagrees.
    for resident, choice in zip(residents, ["不同意"] + ["同意"] * 4, strict=True):
        question = await next_message(telegram, resident.id, seq, "改造意愿征询")
        (recorded,) = await resident.press(question, buttons(question)[choice], kind="edit")
        assert f"您家的答复：✅ {choice} · " in recorded

    # The grid worker records three more in the chat, door after door.
    worker = person(GRID, "网格员")
    await worker.say("/staff")
    assert "为哪一轮征询" in (await press(worker, "登记线下答复（纸质/上门）"))[0]
    assert "还有5户未答复" in (await press(worker, "解放新村 · 第1轮"))[0]
    await grid_worker_records(worker, "1-1-106", "同意", photo=False)
    await grid_worker_records(worker, None, "同意", photo=True)  # 1-1-107, offered next
    await grid_worker_records(worker, "1幢-1单元-108室", "同意", photo=False)
    assert "登记已结束" in (await press(worker, "登记完毕"))[0]

    # A resident's own answer is shown and kept unless staff give a reason.
    await worker.say("/staff")
    await press(worker, "登记线下答复（纸质/上门）")
    await press(worker, "解放新村 · 第1轮")
    shown = await worker.say("1-1-101")
    assert "现有答复：不同意（居民本人在机器人中答复" in shown
    assert "请输入更改的原因" in (await press(worker, "同意"))[0]
    await worker.say("/cancel")
    async with db.session() as session:
        ballots = {b.household_id: b for b in await session.exec(select(Ballot))}
    assert len(ballots) == 8 and sum(b.channel == "proxy" for b in ballots.values()) == 2
    (photographed,) = [b for b in ballots.values() if b.channel == "paper"]
    assert photographed.evidence.startswith("tg:") and photographed.cast_by == GRID

    # Two come from a paper CSV; one replaces 1-1-101's bot answer, with the reason.
    forms = tmp_path / "forms.csv"
    forms.write_text(
        "小区,楼栋,单元,室,意见,日期,网格员,原因\n"
        "解放新村,1,1,109,不同意,2026-12-01,李网格,\n"
        "解放新村,1,1,101,同意,2026-12-01,李网格,户主本人在纸质表上改签同意\n",
        encoding="utf-8",
    )
    seq = await telegram.last_seq()
    imported = await shell(linli, "consult", "import-answers", str(forms))
    assert imported == ["answers: 2 recorded, 0 unchanged"]
    again = await shell(linli, "consult", "import-answers", str(forms))
    assert again == ["answers: 0 recorded, 2 unchanged"]
    told = await next_message(telegram, HOUSEMATE, seq, "工作人员根据纸质征询表为您家登记了：同意")
    assert "截止前您仍可在下面更改" in told["text"] and "同意" in buttons(told)
    await next_message(telegram, residents[0].id, seq, "工作人员根据纸质征询表为您家登记了：同意")

    # Results: 8 of 10 agree, whatever the channel; turnout by building and by channel.
    admin = person(ADMIN, "管理员")
    before = await telegram.last_seq()
    answer = await admin.send("/results", replies=3)
    assert "同意比例80.0%" in answer[0]
    assert "答复渠道：机器人4，纸质表3，工作人员代登记2" in answer[0]
    assert "1幢：已答复9/10户" in answer[0]
    sent = (await telegram.wait_for(ADMIN, after=before, predicate=has("document")))["message"]
    workbook = load_workbook(io.BytesIO(await telegram.file_bytes(sent["document"]["file_id"])))
    results, buildings = workbook.worksheets
    assert [c.value for c in results[2]][11:15] == [0.9, 4, 3, 2]  # turnout, by channel
    assert [c.value for c in buildings[2]] == ["解放新村", "1", 10, 9, 0.9, 8, 1]

    # Who is missing: exactly 1-1-110, with no resident bound, in the chat and in XLSX.
    listing = await worker.send("/missing", replies=3)
    assert "1/10户尚未答复" in listing[0]
    assert "1幢1单元110室 · 已绑定0人 · 需上门" in listing[0]
    assert listing[0].count("室") == 1
    history = [m for m in await telegram.history(GRID) if m["from_bot"]]
    sheet, pdf = history[-2]["document"], history[-1]["document"]
    today = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d")
    assert (sheet["file_name"], pdf["file_name"]) == (
        f"解放新村-未答复户-{today}.xlsx",
        f"解放新村-未答复户-{today}.pdf",
    )
    assert (await telegram.file_bytes(pdf["file_id"])).startswith(b"%PDF")
    rows = list(
        load_workbook(io.BytesIO(await telegram.file_bytes(sheet["file_id"]))).active.values
    )
    assert rows[1:] == [("1", "1", "110", 0, "是 yes", None, None)]
    printed = await shell(linli, "consult", "missing", "--community", "解放新村", "--out", "s.xlsx")
    assert printed[0] == "1\t1\t110\tresidents 0"
    cell = load_workbook(tmp_path / "s.xlsx").active["D2"]
    assert cell.value == 0 and cell.data_type == "n"

    async with db.session() as session:
        result = await consultation.close(session, opened.id, CLI)
    assert (result.agree, result.disagree, result.total, result.reached) == (8, 1, 10, True)

    # Round 2 likewise: one household in the bot, one paper selection in the chat.
    async with db.session() as session:
        menu_round = await round2.open_round2(
            session, found.id, "改造方案征询", "请选择", utcnow() + timedelta(days=3), CLI
        )
        catalogue = {
            item.code: item.id for item in (await round2.menu_of(session, menu_round.id)).items
        }
        await round2.toggle(session, residents[1].id, menu_round.id, catalogue["I01"])
    async with db.session() as session:
        await round2.submit(session, residents[1].id, menu_round.id, CLI)
    seq = await telegram.last_seq()
    await worker.say("/staff")
    await press(worker, "登记线下答复（纸质/上门）")
    await press(worker, "解放新村 · 第2轮")
    assert "或输入项目编号" in await worker.say("1-1-103")
    assert "签字的纸质征询表照片" in await worker.say("I01、U01")
    await press(worker, "不附照片")
    recorded, _ = await press(worker, "确认登记", replies=2)
    assert "所选项目：I01,U01" in recorded
    told = await next_message(telegram, residents[2].id, seq, "点菜选择：I01, U01")
    # Or ticked on the list of the menu's items: Done with nothing ticked is refused.
    assert "点选这户在纸质表上选的项目" in await worker.say("1-1-104")
    prompt = await worker.last_message()
    alert = await worker.press_answer(prompt, buttons(prompt)["✔️ 完成"])
    assert "请至少点选一个项目" in alert["text"] and alert["show_alert"]
    for code in ("I01", "U01", "I01", "U02"):  # I01 ticked, then unticked again
        prompt = await worker.last_message()
        label = next(label for label in buttons(prompt) if f" {code} " in label)
        await worker.press(prompt, buttons(prompt)[label], kind="edit")
    ticked = [label for label in buttons(await worker.last_message()) if label.startswith("✅")]
    assert [label.split()[1] for label in ticked] == ["U01", "U02"]
    assert "签字的纸质征询表照片" in (await press(worker, "✔️ 完成"))[0]
    await press(worker, "不附照片")
    recorded, _ = await press(worker, "确认登记", replies=2)
    assert "所选项目：U01,U02" in recorded
    listing = await worker.send("/missing", replies=3)
    assert "第2轮：7/10户尚未答复" in listing[0]
    assert all(f"{room}室" not in listing[0] for room in (102, 103, 104))


async def test_bad_entries_in_the_chat_are_refused_and_change_nothing(db, person, telegram):
    await import_sample_registry(db)
    async with db.session() as session:
        await registry.add_staff(session, GRID, Role.STAFF, ["运南新村"], CLI)
        found = await registry.community_named(session, "运南新村")
        opened = await consultation.open_round1(
            session, found.id, "Consultation", "Agree?", utcnow() + timedelta(days=3), CLI
        )
    worker = person(GRID, "Grid worker", language_code="en")
    await worker.say("/staff")
    await press(worker, "Record answers from paper / visits")
    await press(worker, "运南新村 · round 1")
    assert "This community has no household 9-999" in await worker.say("9-999")
    assert "What is this household's answer?" in await worker.say("5-101")
    await press(worker, "Agree")
    zipped = base64.b64encode(b"PK\x03\x04 not a form").decode()
    refusal = await worker.say(
        None, document_b64=zipped, file_name="form.zip", mime_type="application/zip"
    )
    assert refusal == "Evidence must be an image or a PDF file."
    assert "Send a photo of the signed paper form" in await worker.say("here it is")
    (preview,) = await press(worker, "No photo")
    assert "Please confirm" in preview
    async with db.session() as session:
        await consultation.close(session, opened.id, CLI)
    message = await worker.last_message()
    alert = await worker.press_answer(message, buttons(message)["Record it"])
    assert alert["show_alert"] and alert["text"] == text("en", "vote.closed")
    async with db.session() as session:
        assert list(await session.exec(select(Ballot))) == []
