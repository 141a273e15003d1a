"""kill -9 in the life of a repair request: mid-report, between staff moves, across deadlines.

The bot runs as ``linli run`` in a child process against the local Bot API
server and is killed with SIGKILL at the moments named below, then started
again on the same database. What the bot confirmed to somebody stays done,
nothing happens twice, and what fell due while it was down happens once it
is back.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.delivery import MAX_BATCH
from sandbox.client import user
from storage.models import RepairRequest, RepairRoute, RepairState
from storage.types import utcnow
from tests.e2e.conftest import Person, buttons
from tests.e2e.test_bad_input import PNG
from tests.e2e.test_crash_restart import polls, started_polling, stop
from tests.e2e.test_outbox import received, wait_until_delivered
from tests.e2e.test_outbox_crash import start_bot
from tests.e2e.test_repair import (
    ADMIN,
    STAFF,
    file_roof_leak,
    move,
    open_in_queue,
    press,
    setup,
)
from tests.e2e.test_round1 import next_message

WANG, LI = 1001, 1002  # residents of 南溪小区 1幢 1单元 101 and 102 (built 1995, no fund)
SPOT = "1幢 顶楼楼梯间上方屋面"
DESCRIPTION = "顶楼楼梯间漏水，墙面大片渗水，电线附近有水"
PIN = {"latitude": 30.7522, "longitude": 120.7555}


class Bot:
    """``linli run`` as a child process, killed and started again by the test."""

    def __init__(self, sandbox, database_url: str, folder) -> None:
        self.sandbox, self.database_url, self.folder = sandbox, database_url, folder
        self.process: asyncio.subprocess.Process | None = None
        self.kills = 0

    async def start(self) -> None:
        self.process = await start_bot(self.sandbox, self.database_url, self.folder)

    async def kill(self) -> None:
        """kill -9: no shutdown of any kind."""
        await stop(self.process, signal.SIGKILL)
        self.kills += 1

    async def restart(self) -> None:
        """kill -9, and start again at once on the same database."""
        await self.kill()
        await self.start()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            await stop(self.process, signal.SIGTERM)


@pytest.fixture
async def bot(sandbox, database_url, tmp_path):
    running = Bot(sandbox, database_url, tmp_path)
    yield running
    await running.stop()


async def prepare(db, telegram) -> dict[str, str]:
    """The sample registry with staff of 南溪小区 and an admin, whose chats with the bot
    exist; invite codes by household."""
    codes = await setup(db)
    await telegram.add_users([user(STAFF, "社工"), user(ADMIN, "管理员")])
    return codes


async def request_numbered(db, number: str) -> RepairRequest:
    async with db.session() as session:
        return (
            await session.exec(select(RepairRequest).where(RepairRequest.number == number))
        ).one()


async def told(telegram, chat_id: int, contains: str) -> int:
    """How many of the bot's messages in the chat contain ``contains``."""
    return (await received(telegram, [chat_id], contains))[chat_id]


def number_in(filed: str) -> str:
    """The request number in the bot's "报修已提交，编号 JX-2026-000001。" answer."""
    return filed.split("编号")[1].split("。")[0]


# 1. The resident's report, killed after any answer


@dataclass(frozen=True)
class Answer:
    """One answer of the intake: a press of a labelled button, or a message with ``fields``."""

    step: str
    confirmed: str  # what the bot's answer to it says
    button: str | None = None
    fields: dict = field(default_factory=dict)


INTAKE = [
    Answer("category", "在哪里", button="屋面漏水"),
    Answer("place", "具体位置", button="公共部位"),
    Answer("spot", "是否紧急", fields={"text": SPOT}),
    Answer("urgent", "请描述问题", button="紧急，现在有危险"),
    Answer("description", "可以发送照片", fields={"text": DESCRIPTION}),
    Answer("photo", "已收到1张", fields={"photo_b64": PNG}),  # a photo at the photos step
    Answer("photos", "可以发送位置", button="照片发完了"),
    Answer("location", "请核对", fields={"location": PIN}),
    Answer("confirm", "报修已提交", button="提交"),
]


@dataclass(frozen=True)
class Given:
    update: dict  # as the server queued it: update_id, and the message if one was sent
    reply: str


async def give(resident: Person, answer: Answer) -> Given:
    """The resident gives ``answer`` and waits until the bot confirms it (its next message)."""
    after = await resident.client.last_seq()
    if answer.button is None:
        update = await resident.client.send(resident.user, **answer.fields)
    else:
        history = await resident.client.history(resident.id)
        message = next(m for m in reversed(history) if answer.button in buttons(m))
        data = buttons(message)[answer.button]
        update = await resident.client.press(resident.user, message["message_id"], data)
    event = await resident.client.wait_for(resident.id, after=after)
    reply = event["message"].get("text", "")
    assert answer.confirmed in reply, f"after {answer.step}: {reply!r}"
    return Given(update, reply)


@pytest.mark.slow
@pytest.mark.parametrize("killed_after", [answer.step for answer in INTAKE])
async def test_a_report_survives_kill_9_after_any_answer(killed_after, db, bot, telegram):
    """王芳 reports a roof leak. Right after the bot confirmed one of her answers it is
    killed; when it is back she goes on with the next question, using the buttons she
    already has, and files one request with everything she gave. Telegram also hands the
    restarted bot her last answer once more (as it does with an update whose receipt
    the dead process never acknowledged): it counts once."""
    codes = await prepare(db, telegram)
    wang = Person(telegram, WANG, "王芳")
    split = [answer.step for answer in INTAKE].index(killed_after) + 1
    given: dict[str, Given] = {}

    await bot.start()
    await wang.say(f"/start {codes['1-1-101']}")
    assert "是什么问题" in await wang.say("/repair")
    for answer in INTAKE[:split]:
        given[answer.step] = await give(wang, answer)
    await bot.kill()
    polled = await polls(telegram)
    await bot.start()

    # Handed out again once the new process polls: the dead one's long poll, still open
    # on the server, would otherwise take it.
    await started_polling(telegram, polled)
    await telegram.redeliver(given[killed_after].update["update_id"])
    for answer in INTAKE[split:]:
        given[answer.step] = await give(wang, answer)
    assert "您家的报修" in await wang.say("/myrequests")  # after the redelivered update
    number = number_in(given["confirm"].reply)
    listed = [label for label in buttons(await wang.last_message()) if "JX-" in label]
    assert len(listed) == 1 and number in listed[0]

    async with db.session() as session:
        (filed,) = (await session.exec(select(RepairRequest))).all()
    photo = given["photo"].update["message"]["photo"][-1]["file_id"]
    assert filed.number == number and filed.reporter_telegram_id == WANG
    assert (filed.category, filed.common_part, filed.place) == ("roof_leak", True, SPOT)
    assert (filed.urgent, filed.description, filed.photos) == (True, DESCRIPTION, [photo])
    assert (filed.latitude, filed.longitude) == (PIN["latitude"], PIN["longitude"])
    assert filed.route == RepairRoute.FUND  # 1995, no fund, a common part, urgent


# 2. Staff moving a fund request along, killed after every move


@dataclass(frozen=True)
class Move:
    """A staff move from the request's card in /queue: a button, then perhaps an amount."""

    button: str
    to: RepairState
    confirmed: str  # what the bot answers staff
    household_told: str  # what the household is sent
    typed: str | None = None  # yuan, typed when the bot asks for them


MOVES = [
    Move("受理", RepairState.TRIAGED, "现在是「已受理」", "已受理"),
    Move("填写估价", RepairState.ESTIMATED, "估价¥3,217.47", "已估价：¥3,217.47", "3217.47"),
    Move("批准资金", RepairState.APPROVED, "现在是「资金已批准」", "的维修资金已批准"),
    Move("开始维修", RepairState.IN_PROGRESS, "现在是「维修中」", "已开始维修"),
    Move(
        "已完工，填写决算",
        RepairState.DONE,
        "已完工，决算¥3,300.00",
        "已完工，决算¥3,300.00",
        "3,300.00",
    ),
]


@pytest.mark.slow
async def test_a_fund_repair_survives_kill_9_between_staff_moves(db, bot, telegram):
    """Staff take 王芳's urgent roof leak through the fund: accept, estimate, approve, start,
    done at its final cost. The bot is killed right after each move was confirmed to them,
    and while it waits for a typed amount. After every restart the request is where the
    last confirmed move left it, and the next move works from /queue as before.

    The household is told of every move once, or at most twice: the message is queued in
    the move's own transaction, so a kill cannot lose it, but a kill can fall after it was
    sent and before the outbox marked it, and then it is sent again. That is the outbox's
    one-batch bound (bot.delivery.MAX_BATCH) seen from a single recipient: a batch sends
    one message at most to a chat (one a second per chat), so each kill can repeat at
    most one of the household's messages, once.
    """
    codes = await prepare(db, telegram)
    wang, staff = Person(telegram, WANG, "王芳"), Person(telegram, STAFF, "社工")
    await bot.start()
    await wang.say(f"/start {codes['1-1-101']}")
    number = await file_roof_leak(wang)
    await wait_until_delivered(db)  # staff have heard of it, before they open /queue
    state = RepairState.SUBMITTED

    for step in MOVES:
        await open_in_queue(staff, number)
        if step.typed is None:
            said, _ = await move(staff, step.button)
        else:
            (said,) = await press(staff, step.button)
            assert "请输入" in said
            await bot.restart()  # staff are asked for the amount: the bot dies
            assert (await request_numbered(db, number)).state == state
            said, _ = await staff.send(step.typed, replies=2)  # and the card again
        assert number in said and step.confirmed in said, said
        await bot.restart()
        state = step.to
        assert (await request_numbered(db, number)).state == state

    await wait_until_delivered(db)
    counts = {step.to.value: await told(telegram, WANG, step.household_told) for step in MOVES}
    repeats = sum(count - 1 for count in counts.values())
    print(f"\n{bot.kills} kills; the household was told {counts} (batches of {MAX_BATCH})")
    # Nobody missed; each kill repeats at most the one message then in flight to the
    # household, and a message held back by the one-a-second spacing can be it twice.
    assert all(count >= 1 for count in counts.values()), counts
    assert repeats <= bot.kills

    filed = await request_numbered(db, number)
    assert (filed.estimate_fen, filed.cost_fen) == (321_747, 330_000)
    assert (filed.owners_fen, filed.government_fen) == (66_000, 264_000)
    (ask_rating,) = await press(wang, "确认已修好")  # and the household can move on too
    assert "打分" in ask_rating
    assert (await request_numbered(db, number)).state == RepairState.CONFIRMED


# 3. Triage deadlines that pass while the bot is down

REMIND_AFTER, ESCALATE_AFTER = 1, 2  # hours


async def age(db, number: str, hours: float) -> None:
    """Make the request a little more than ``hours`` old. The bot measures its age from
    created_at, so to the bot this is the clock moving on, and no test waits for hours."""
    async with db.session() as session:
        filed = (
            await session.exec(select(RepairRequest).where(RepairRequest.number == number))
        ).one()
        filed.created_at = utcnow() - timedelta(hours=hours, seconds=1)
        session.add(filed)


@pytest.mark.slow
async def test_triage_deadlines_that_pass_while_down_are_kept_once(db, bot, telegram, monkeypatch):
    """王芳's urgent roof leak is accepted by nobody. The bot is killed before the first
    limit and stays down past it: when it is back the community's staff are reminded. It
    is killed again before the second limit and stays down past that: when it is back the
    admins are told. After yet another restart neither message comes again (a new leak's
    reminder shows the restarted bot's deadline sweep has run)."""
    monkeypatch.setenv("LINLI_REPAIR__TRIAGE_REMINDER_HOURS", str(REMIND_AFTER))
    monkeypatch.setenv("LINLI_REPAIR__TRIAGE_ESCALATION_HOURS", str(ESCALATE_AFTER))
    monkeypatch.setenv("LINLI_SCHEDULER__SWEEP_SECONDS", "0.2")
    codes = await prepare(db, telegram)
    wang, li = Person(telegram, WANG, "王芳"), Person(telegram, LI, "李明")
    reminded = f"紧急报修{{number}}已超过{REMIND_AFTER}小时未受理，请尽快处理"
    escalated = f"紧急报修{{number}}已超过{ESCALATE_AFTER}小时未受理，已上报管理员"

    await bot.start()
    await wang.say(f"/start {codes['1-1-101']}")
    number = await file_roof_leak(wang)
    await wait_until_delivered(db)  # staff have heard of the new request
    await bot.kill()

    await age(db, number, REMIND_AFTER)  # the first limit passes while the bot is down
    seq = await telegram.last_seq()
    await bot.start()
    await next_message(telegram, STAFF, seq, reminded.format(number=number))
    await wait_until_delivered(db)
    await bot.kill()
    assert await told(telegram, ADMIN, number) == 0  # not before the second limit

    await age(db, number, ESCALATE_AFTER)  # and the second
    seq = await telegram.last_seq()
    await bot.start()
    await next_message(telegram, ADMIN, seq, escalated.format(number=number))
    await wait_until_delivered(db)
    await bot.kill()

    # Once more: a leak 李明 reports now is chased by the restarted bot, so its sweep ran.
    await bot.start()
    await li.say(f"/start {codes['1-1-102']}")
    seq = await telegram.last_seq()
    second = await file_roof_leak(li)
    await age(db, second, REMIND_AFTER)
    await next_message(telegram, STAFF, seq, reminded.format(number=second))
    await wait_until_delivered(db)
    await bot.stop()

    assert await told(telegram, STAFF, reminded.format(number=number)) == 1
    assert await told(telegram, ADMIN, escalated.format(number=number)) == 1
    assert await told(telegram, ADMIN, number) == 1  # and nothing else about it
    assert await told(telegram, ADMIN, second) == 0  # the second is not overdue that long
    assert await told(telegram, STAFF, reminded.format(number=second)) == 1
    chased = await request_numbered(db, number)
    assert chased.state == RepairState.SUBMITTED
    reminded_at, escalated_at = chased.staff_reminded_at, chased.escalated_at
    assert reminded_at is not None and escalated_at is not None and reminded_at < escalated_at
