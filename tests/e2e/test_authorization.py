"""The authorization matrix: every staff and admin action, tried by people who may not take it.

Community A (运南新村) has a round 1 open, a resident with a repair request and
a question for the staff, and an observation of its works. The
actions on it are tried by an unbound user, A's own resident and the staff
member of another community (梅湾花园), through the chat as they would be: the
commands and the buttons behind them, with forged callback data aimed at A.
None may succeed: each gets a clear answer and the database stays as it was.
A staff member of another community may use the commands within their own
communities; then A must not be offered. The matrix is printed with the results.

The command line takes no acting user: it runs with the operator's authority
on the machine (``staff add`` and ``staff remove`` take a user only as their
subject), so it has no row here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.flows import ask, consultation, dialogues, registry
from bot.flows.audit import CLI, Actor
from bot.i18n import text
from storage.models import Dialogue, Observation, RepairRequest, Role
from storage.types import utcnow
from tests.e2e.conftest import buttons
from tests.registry import import_sample_registry, issue_codes
from tests.snapshot import snapshot

UNBOUND, RESIDENT, OTHER_STAFF = 2001, 2002, 2003
ACTORS = {UNBOUND: "unbound user", RESIDENT: "resident of A", OTHER_STAFF: "staff of B"}
COMMANDS = [
    "/staff", "/notice", "/project", "/results", "/ranking", "/queue", "/inbox", "/supervisors",
    "/fundreport",
]  # fmt: skip
REFUSALS = {
    text("zh_Hans", key)
    for key in (
        "staff.only",
        "button.stale",
        "ranking.admins_only",
        "open.unknown_community",
        "compose.bad_buildings",
        "compose.bad_communities",
        "repair.not_found",
        "ask.not_found",
        "supervision.not_found",
        "queue.fund_admins_only",
    )
}
# The dialogue each button belongs to: the presser is put in it first, so that
# only the authorization check can stop the press.
NOTICE_AUDIENCE = ("notice", {"step": "audience", "body": "停水通知"})
OPENING_COMMUNITY = ("consult_open", {"step": "community"})
# A command may start the staff member's own dialogue (/notice asks for the text).
OWN_DIALOGUE = frozenset({Dialogue.__tablename__})
# Community A typed where a dialogue asks for a community: (dialogue, text).
TYPED = {
    "typed 运南新村 (round 1: community)": (OPENING_COMMUNITY, "运南新村"),
    "typed 运南新村 (notice: communities)": (
        ("notice", {"step": "communities", "body": "停水通知"}),
        "运南新村",
    ),
    "typed 运南新村 1 (notice: buildings)": (
        ("notice", {"step": "buildings", "body": "停水通知"}),
        "运南新村 1",
    ),
}
# Buttons that name no community: staff may press them, for their own communities.
OWN_SCOPE = frozenset({"v1:cons:new", "v1:cons:stop", "v1:ntc:b:0"})


@dataclass(frozen=True)
class Targets:
    """What of community A the forged presses aim at."""

    community: int
    round_id: int
    request: int
    question: int
    observation: int


def button_actions(a: Targets) -> dict[str, tuple | None]:
    """Forged presses aimed at community A or its round -> the dialogue they need."""
    community, round_id = a.community, a.round_id
    return {
        "v1:cons:new": None,
        "v1:cons:stop": OPENING_COMMUNITY,
        "v1:ntc:b:0": NOTICE_AUDIENCE,
        "v1:cons:go": None,
        f"v1:cons:in:{community}": OPENING_COMMUNITY,
        f"v1:cons:results:{round_id}": None,
        f"v1:cons:remind:{round_id}": None,
        f"v1:cons:close:{round_id}": None,
        f"v1:ntc:c:{community}": NOTICE_AUDIENCE,
        f"v1:ntc:u:{round_id}": NOTICE_AUDIENCE,
        "v1:ntc:all:0": NOTICE_AUDIENCE,
        "v1:ntc:go:0": NOTICE_AUDIENCE,
        "v1:ntc:retry:1": None,
        f"v1:proj:show:{community}:-": None,
        f"v1:proj:adv:{community}:design": None,
        **{f"v1:rq:{action}:{a.request}": None for action in REQUEST_ACTIONS},
        **{f"v1:inbox:{action}:{a.question}": None for action in ("show", "reply", "close", "faq")},
        **{f"v1:obs:{action}:{a.observation}": None for action in OBSERVATION_ACTIONS},
        f"v1:sup:add:{community}:new": None,
        f"v1:sup:del:{community}:u{RESIDENT}": None,
        **{f"v1:plan:{action}:{round_id}:1": None for action in PLAN_ACTIONS},
    }


REQUEST_ACTIONS = [
    "show", "pho", "acc", "ok", "go", "done", "close", "rej", "ask", "est", "fin", "same", "fund",
]  # fmt: skip
OBSERVATION_ACTIONS = ["show", "ack", "assign", "done", "nope"]
PLAN_ACTIONS = ["res", "ask", "close", "show", "out", "in", "ok"]


@pytest.fixture
async def world(db, person):
    """A's open round and resident, B's staff member; returns (A's id, round id, people)."""
    await import_sample_registry(db)
    async with db.session() as session:
        await registry.add_staff(session, OTHER_STAFF, Role.STAFF, ["梅湾花园"], CLI)
        community = await registry.community_named(session, "运南新村")
        opened = await consultation.open_round1(
            session, community.id, "改造意愿征询", "同意改造吗？", utcnow() + timedelta(days=3), CLI
        )
    code = next(iter((await issue_codes(db, "运南新村")).values()))
    people = {telegram_id: person(telegram_id, name) for telegram_id, name in ACTORS.items()}
    assert "绑定成功" in await people[RESIDENT].say(f"/start {code}")
    resident = people[RESIDENT]
    await resident.say("/repair")
    for label in ("屋面漏水", "自家房屋", "不紧急"):
        await resident.press(
            await resident.last_message(), buttons(await resident.last_message())[label]
        )
    await resident.say("卧室天花板渗水")
    for label in ("照片发完了", "不发位置", "提交"):
        await resident.press(
            await resident.last_message(), buttons(await resident.last_message())[label]
        )
    async with db.session() as session:
        request = (await session.exec(select(RepairRequest))).one()
        # The FAQ has no answer to it, so it goes to the staff inbox at once.
        asked = await ask.ask(
            session, RESIDENT, "小区垃圾房什么时候清理", "zh_Hans", Actor(RESIDENT)
        )
        observation = Observation(
            community_id=community.id,
            supervisor_telegram_id=RESIDENT,
            category="safety",
            severity="high",
            place="1幢",
            text="脚手架没有防护网",
        )
        session.add(observation)
        await session.flush()
        targets = Targets(community.id, opened.id, request.id, asked.question.id, observation.id)
    for somebody in people.values():
        await somebody.say("/help")  # a message of the bot's to press buttons on
    return targets, people


def offers_a(message: dict) -> bool:
    shown = message.get("text", "") + " ".join(buttons(message))
    return "运南新村" in shown


async def test_nobody_acts_beyond_their_role(db, world, capsys):
    targets, people = world
    matrix: list[tuple[str, str, str]] = []
    for actor, somebody in people.items():
        for command in COMMANDS:
            before = await snapshot(db, leave_out=OWN_DIALOGUE)
            answer = await somebody.say(command)
            after = await snapshot(db, leave_out=OWN_DIALOGUE)
            assert after == before, (ACTORS[actor], command)
            if answer in REFUSALS:
                matrix.append((ACTORS[actor], command, f"refused: {answer}"))
                continue
            # Only staff get past the door, and only into their own communities.
            assert actor == OTHER_STAFF, (command, answer)
            assert not offers_a(await somebody.last_message()), (command, answer)
            matrix.append((ACTORS[actor], command, "own communities only (A not offered)"))

        host = await somebody.last_message()
        for data, dialogue in button_actions(targets).items():
            async with db.session() as session:
                if dialogue is None:
                    await dialogues.finish(session, actor)
                else:
                    await dialogues.start(session, actor, dialogue[0], **dialogue[1])
            before, own = await snapshot(db), await snapshot(db, leave_out=OWN_DIALOGUE)
            answer = await somebody.press_answer(host, data)
            if "text" not in answer:  # taken: what follows is a refusal or the staff's own step
                message = await somebody.client.wait_for(actor, after=answer["seq"])
                if message["message"]["text"] not in REFUSALS:
                    assert actor == OTHER_STAFF and data in OWN_SCOPE, (ACTORS[actor], data)
                    assert not offers_a(message["message"]), data
                    assert await snapshot(db, leave_out=OWN_DIALOGUE) == own, data
                    matrix.append((ACTORS[actor], data, "own communities only (A not offered)"))
                    continue
                answer = {"text": message["message"]["text"], "show_alert": True}
            assert await snapshot(db) == before, (ACTORS[actor], data)
            assert answer["text"] in REFUSALS and answer["show_alert"], (ACTORS[actor], data)
            matrix.append((ACTORS[actor], data, f"refused: {answer['text']}"))

        for label, (dialogue, typed) in TYPED.items():
            async with db.session() as session:
                await dialogues.start(session, actor, dialogue[0], **dialogue[1])
            before = await snapshot(db)
            answer = await somebody.say(typed)
            assert await snapshot(db) == before, (ACTORS[actor], label)
            assert answer in REFUSALS, (ACTORS[actor], label, answer)
            matrix.append((ACTORS[actor], label, f"refused: {answer}"))
        async with db.session() as session:
            await dialogues.finish(session, actor)

    width = max(len(action) for _, action, _ in matrix)
    lines = ["", "authorization matrix (community A = 运南新村, B = 梅湾花园):"]
    lines += [f"  {who:<14} {action:<{width}}  {outcome}" for who, action, outcome in matrix]
    with capsys.disabled():  # shown in every run, not only with -s
        print("\n".join(lines))
    assert len(matrix) == len(ACTORS) * (len(COMMANDS) + len(button_actions(targets)) + len(TYPED))
