"""The authorization matrix: every staff and admin action, tried by people who may not take it.

Community A (运南新村) has round 1 and round 2 open, a resident with a repair
request and a question for the staff, and an observation of its works. The
actions on it are tried by an unbound user, A's own resident and the staff
member of another community (梅湾花园), through the chat as they would be: the
commands, the buttons behind them with forged callback data aimed at A, and
the text typed where a staff dialogue aimed at A waits for it. Each press and
text is tried in the dialogue it belongs to (a staff member may have stopped
serving A since the dialogue began), so that only the check of who may act
can stop it. The presses only A's residents may make (votes, the menu, their
own repair request and question) are tried by the other two. None may
succeed: each gets a clear answer and the database stays as it was. A staff
member of another community may use the commands and the buttons that name no
community within their own communities; then A must not be offered. The
matrix is printed with the results.

The command line takes no acting user: it runs with the operator's authority
on the machine (``staff add`` and ``staff remove`` take a user only as their
subject), so it has no row here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.flows import ask, consultation, dialogues, registry, round2
from bot.flows.audit import CLI, Actor
from bot.flows.binding import household_of
from bot.i18n import text
from storage.models import Building, Dialogue, Observation, RepairRequest, Role
from storage.types import utcnow
from tests.e2e.conftest import buttons
from tests.registry import import_sample_registry, issue_codes
from tests.snapshot import snapshot

UNBOUND, RESIDENT, OTHER_STAFF = 2001, 2002, 2003
ACTORS = {UNBOUND: "unbound user", RESIDENT: "resident of A", OTHER_STAFF: "staff of B"}
# Who is outside A's households, for the presses A's residents may make.
OUTSIDERS = (UNBOUND, OTHER_STAFF)
COMMANDS = [
    "/staff", "/notice", "/project", "/results", "/ranking", "/queue", "/inbox", "/supervisors",
    "/fundreport", "/missing",
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
        "repair.unbound",
        "ask.not_found",
        "vote.unbound",
        "supervision.not_found",
        "supervisors.bad_address",
        "queue.fund_admins_only",
        "offline.not_served",
    )
}
# A command may start the staff member's own dialogue (/notice asks for the text).
DIALOGUES = Dialogue.__tablename__
OWN_DIALOGUE = frozenset({DIALOGUES})
# Buttons that name no community: staff may press them, for their own communities.
OWN_SCOPE = frozenset(
    {
        "v1:cons:new", "v1:cons:new2", "v1:cons:stop", "v1:ntc:m:0", "v1:ntc:b:0",
        "v1:ntc:when:now", "v1:ntc:stop:0", "v1:rq:page:1", "v1:offl:new", "v1:offl:stop",
    }
)  # fmt: skip
# What a taken press shows: a new message, or the page it was pressed on, changed.
SHOWN = ("message", "edit")
# A prompt whose example of what to type happens to name A: it offers nothing.
EXAMPLE_NAMES_A = {text("zh_Hans", "compose.ask_communities")}
NOTICE = {"body": "停水通知", "photo_file_id": None, "document_file_id": None}


@dataclass(frozen=True)
class Targets:
    """What of community A the forged presses aim at, and B, which the staff member serves."""

    community: int
    building: int
    round_id: int
    menu_round: int
    request: int
    question: int
    observation: int
    own_community: int
    household: int


@dataclass(frozen=True)
class Press:
    """Forged callback data, and the dialogue the presser is put in first (so that only the
    authorization check can stop the press)."""

    data: str
    dialogue: tuple[str, dict] | None = None

    @property
    def label(self) -> str:
        if self.dialogue is None:
            return self.data
        kind, data = self.dialogue
        audience = data.get("audience", {}).get("kind")
        return f"{self.data} ({':'.join(filter(None, [kind, data['step'], audience]))})"


def notice_at(step: str, audience: dict | None = None) -> tuple[str, dict]:
    """A notice being composed, at ``step``, addressed to ``audience``."""
    return "notice", {**NOTICE, "step": step, **({"audience": audience} if audience else {})}


def opening(step: str, **data) -> tuple[str, dict]:
    """A round 1 being opened, at ``step``."""
    return "consult_open", {"step": step, "round": 1, **data}


def recording(step: str, a: Targets, **data) -> tuple[str, dict]:
    """A grid worker recording an answer for one of A's households, at ``step``."""
    return "offline", {"step": step, "consultation": a.round_id, **data}


def button_actions(a: Targets) -> list[Press]:
    """Forged staff presses aimed at community A or its rounds, in the dialogues they need."""
    community, round_id = a.community, a.round_id
    confirming = opening(
        "confirm",
        community_id=community,
        community="运南新村",
        title="改造意愿征询",
        question="同意改造吗？",
        closes_at=(utcnow() + timedelta(days=3)).isoformat(),
    )
    # The audiences of A that a notice's final "send" must refuse again.
    audiences_of_a = [
        {"kind": "communities", "ids": [community]},
        {"kind": "supervisors", "ids": [community]},
        {"kind": "buildings", "ids": [a.building]},
        {"kind": "unanswered", "ids": [round_id]},
        {"kind": "everyone"},
    ]
    return [
        Press("v1:cons:new"),
        Press("v1:cons:new2"),
        Press("v1:cons:stop", opening("community")),
        Press("v1:cons:go"),
        Press("v1:cons:go", confirming),
        Press(f"v1:cons:in:{community}", opening("community")),
        *(Press(f"v1:cons:{action}:{round_id}") for action in CONSULTATION_ACTIONS),
        *(Press(f"v1:ntc:{action}:0", notice_at("audience")) for action in ("m", "b", "all")),
        Press(f"v1:ntc:c:{community}", notice_at("audience")),
        Press(f"v1:ntc:s:{community}", notice_at("audience")),
        Press(f"v1:ntc:u:{round_id}", notice_at("audience")),
        Press("v1:ntc:go:0", notice_at("audience")),
        Press(
            "v1:ntc:when:now", notice_at("when", {"kind": "communities", "ids": [a.own_community]})
        ),
        *(Press("v1:ntc:go:0", notice_at("confirm", audience)) for audience in audiences_of_a),
        Press("v1:ntc:stop:0", notice_at("confirm", audiences_of_a[0])),
        Press("v1:ntc:retry:1"),
        Press(f"v1:proj:show:{community}:-"),
        Press(f"v1:proj:adv:{community}:design"),
        Press("v1:rq:page:1"),
        *(Press(f"v1:rq:{action}:{a.request}") for action in REQUEST_ACTIONS),
        *(Press(f"v1:inbox:{action}:{a.question}") for action in INBOX_ACTIONS),
        *(Press(f"v1:obs:{action}:{a.observation}:0") for action in OBSERVATION_ACTIONS),
        Press(f"v1:sup:add:{community}:new"),
        Press(f"v1:sup:del:{community}:u{RESIDENT}"),
        *(Press(f"v1:plan:{action}:{a.menu_round}:1") for action in PLAN_ACTIONS),
        Press("v1:offl:new"),
        Press("v1:offl:stop", recording("household", a)),
        *(Press(f"v1:offl:c:{round_}") for round_ in (a.round_id, a.menu_round)),
        Press(f"v1:offl:h:{a.household}", recording("household", a)),
        Press("v1:offl:a:agree", recording("answer", a, household=a.household)),
        Press("v1:offl:skip", recording("evidence", a, household=a.household, answer="agree")),
        Press("v1:offl:ok", recording("confirm", a, household=a.household, answer="agree")),
    ]


def resident_actions(a: Targets) -> list[Press]:
    """Presses that only A's resident may make, on A's rounds, request and question."""
    return [
        *(Press(f"v1:vote:{a.round_id}:{choice}") for choice in ("agree", "disagree")),
        *(Press(f"v1:menu:{a.menu_round}:{action}:0") for action in MENU_ACTIONS),
        *(Press(f"v1:rep:{action}:{a.request}") for action in ("show", "ok", "re", "ans", "wd")),
        Press(f"v1:rep:rate:{a.request}:5"),
        *(Press(f"v1:ask:{action}:{a.question}") for action in ("go", "staff", "more")),
        *(Press(f"v1:ask:{action}:{a.question}:1") for action in ("pick", "ok")),
    ]


def typed_actions(a: Targets) -> dict[str, tuple[tuple[str, dict], str]]:
    """Text typed where a staff dialogue aimed at A asks for it: label -> (dialogue, text)."""
    return {
        "typed 运南新村 (round 1: community)": (opening("community"), "运南新村"),
        "typed 运南新村 (notice: communities)": (notice_at("communities"), "运南新村"),
        "typed 运南新村 1 (notice: buildings)": (notice_at("buildings"), "运南新村 1"),
        **{
            f"typed {typed} (queue: {action} A's request)": (
                ("repair_staff", {"request": a.request, "action": action}),
                typed,
            )
            for action, typed in REQUEST_WORDS.items()
        },
        "typed a reply (inbox: A's question)": (
            ("inbox_reply", {"question": a.question}),
            "明天上午清理",
        ),
        **{
            f"typed a note (observation: {action} A's)": (
                ("observation_note", {"observation": a.observation, "action": action}),
                "已通知施工方",
            )
            for action in ("assign", "nope")
        },
        "typed 5-1-101 (supervisors: appoint in A)": (
            ("supervisor_add", {"community": a.community}),
            "5-1-101",
        ),
        "typed 5-101 (offline: A's household)": (recording("household", a), "5-101"),
        "typed I01 (offline: A's round 2)": (
            ("offline", {"step": "items", "consultation": a.menu_round, "household": a.household}),
            "I01",
        ),
        "typed a reason (offline: replace A's answer)": (
            recording("reason", a, household=a.household, answer="agree"),
            "本人改签",
        ),
        "typed a reason (plan: A's round 2)": (
            ("plan_reason", {"consultation": a.menu_round, "code": "I01", "include": True}),
            "居民呼声很高",
        ),
    }


CONSULTATION_ACTIONS = ["results", "remind", "close", "closeyes"]
REQUEST_ACTIONS = [
    "show", "pho", "acc", "ok", "go", "done", "close", "rej", "ask", "est", "fin", "same", "fund",
    "prop",
]  # fmt: skip
# What staff type after the queue's buttons that ask for words: action -> the words.
REQUEST_WORDS = {
    "rej": "不属于维修范围", "ask": "是几楼漏水？", "est": "3217.47", "fin": "3217.47",
    "fund": "屋面属于共有部分", "prop": "属于自家房屋",
}  # fmt: skip
INBOX_ACTIONS = ["show", "reply", "close", "faq"]
OBSERVATION_ACTIONS = ["show", "ack", "assign", "done", "nope"]
PLAN_ACTIONS = ["res", "ask", "close", "show", "out", "in", "ok"]
MENU_ACTIONS = ["open", "page", "tog", "info", "send"]


@pytest.fixture
async def world(db, person):
    """A's open rounds and resident, B's staff member; returns (targets, people)."""
    await import_sample_registry(db)
    async with db.session() as session:
        await registry.add_staff(session, OTHER_STAFF, Role.STAFF, ["梅湾花园"], CLI)
        community = await registry.community_named(session, "运南新村")
        own = await registry.community_named(session, "梅湾花园")
        closes = utcnow() + timedelta(days=3)
        opened = await consultation.open_round1(
            session, community.id, "改造意愿征询", "同意改造吗？", closes, CLI
        )
        # Round 2 beside round 1, as the city may decide: the menu and the plan's buttons.
        menu_round = await round2.open_round2(
            session, community.id, "方案征询", "请选择", closes, CLI, override_reason="市里统一安排"
        )
        building = (
            await session.exec(select(Building.id).where(Building.community_id == community.id))
        ).first()
    code = next(iter((await issue_codes(db, "运南新村")).values()))
    people = {telegram_id: person(telegram_id, name) for telegram_id, name in ACTORS.items()}
    resident = people[RESIDENT]
    bound = await resident.send(f"/start {code}", replies=3)  # and both rounds' questions
    assert "绑定成功" in bound[0]
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
        resident_household = await household_of(session, RESIDENT)
        targets = Targets(
            community.id,
            building,
            opened.id,
            menu_round.id,
            request.id,
            asked.question.id,
            observation.id,
            own.id,
            resident_household,
        )
    for somebody in people.values():
        await somebody.say("/help")  # a message of the bot's to press buttons on
    return targets, people


def offers_a(message: dict) -> bool:
    shown = " ".join(buttons(message))
    if message.get("text") not in EXAMPLE_NAMES_A:
        shown += message.get("text", "")
    return "运南新村" in shown


async def enter(db, actor: int, dialogue: tuple[str, dict] | None) -> None:
    """Put the actor in ``dialogue`` (or in none)."""
    async with db.session() as session:
        if dialogue is None:
            await dialogues.finish(session, actor)
        else:
            await dialogues.start(session, actor, dialogue[0], **dialogue[1])


async def try_command(db, somebody, actor: int, command: str) -> str:
    """The outcome of a staff command: refused, or only the actor's own communities."""
    before = await snapshot(db, leave_out=OWN_DIALOGUE)
    answer = await somebody.say(command)
    assert await snapshot(db, leave_out=OWN_DIALOGUE) == before, (ACTORS[actor], command)
    if answer in REFUSALS:
        return f"refused: {answer}"
    # Only staff get past the door, and only into their own communities.
    assert actor == OTHER_STAFF, (command, answer)
    assert not offers_a(await somebody.last_message()), (command, answer)
    return "own communities only (A not offered)"


async def try_press(db, somebody, actor: int, host: dict, press: Press) -> str:
    """The outcome of a forged press: refused with nothing changed, or (a staff member's
    button that names no community) their own step, with A not offered."""
    await enter(db, actor, press.dialogue)
    before, own = await snapshot(db), await snapshot(db, leave_out=OWN_DIALOGUE)
    answer = await somebody.press_answer(host, press.data)
    if "text" not in answer:  # taken: what follows is a refusal or the staff's own step
        shown = await somebody.client.wait_for(
            actor, after=answer["seq"], kind=None, predicate=lambda e: e["kind"] in SHOWN
        )
        message = shown["message"]
        if message["text"] not in REFUSALS:
            assert actor == OTHER_STAFF and press.data in OWN_SCOPE, (ACTORS[actor], press.label)
            assert not offers_a(message), press.label
            assert await snapshot(db, leave_out=OWN_DIALOGUE) == own, press.label
            return "own communities only (A not offered)"
        answer = {"text": message["text"], "show_alert": True}
    assert await snapshot(db) == before, (ACTORS[actor], press.label)
    assert answer["text"] in REFUSALS and answer["show_alert"], (ACTORS[actor], press.label)
    return f"refused: {answer['text']}"


async def try_typing(db, somebody, actor: int, dialogue: tuple[str, dict], typed: str) -> str:
    """The outcome of text typed into a dialogue aimed at A: refused, nothing changed."""
    await enter(db, actor, dialogue)
    before = await snapshot(db)
    answer = await somebody.say(typed)
    # A refusal may end the typist's own dialogue, or leave it for another try.
    ended = {**before, DIALOGUES: [row for row in before[DIALOGUES] if row[0] != actor]}
    assert await snapshot(db) in (before, ended), (ACTORS[actor], dialogue, typed)
    assert answer in REFUSALS, (ACTORS[actor], dialogue, typed, answer)
    return f"refused: {answer}"


async def test_nobody_acts_beyond_their_role(db, world, capsys):
    targets, people = world
    matrix: list[tuple[str, str, str]] = []
    for actor, somebody in people.items():
        for command in COMMANDS:
            matrix.append((ACTORS[actor], command, await try_command(db, somebody, actor, command)))
        host = await somebody.last_message()
        presses = button_actions(targets) + (
            resident_actions(targets) if actor in OUTSIDERS else []
        )
        for press in presses:
            outcome = await try_press(db, somebody, actor, host, press)
            matrix.append((ACTORS[actor], press.label, outcome))
        for label, (dialogue, typed) in typed_actions(targets).items():
            matrix.append(
                (ACTORS[actor], label, await try_typing(db, somebody, actor, dialogue, typed))
            )
        await enter(db, actor, None)

    width = max(len(action) for _, action, _ in matrix)
    lines = ["", "authorization matrix (community A = 运南新村, B = 梅湾花园):"]
    lines += [f"  {who:<14} {action:<{width}}  {outcome}" for who, action, outcome in matrix]
    with capsys.disabled():  # shown in every run, not only with -s
        print("\n".join(lines))
    per_actor = len(COMMANDS) + len(button_actions(targets)) + len(typed_actions(targets))
    assert len(matrix) == len(ACTORS) * per_actor + len(OUTSIDERS) * len(resident_actions(targets))
