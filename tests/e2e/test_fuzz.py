"""Fuzzing the running bot: whatever arrives, it answers, fails nowhere and changes nothing.

Hypothesis makes the updates: any text (Unicode, emoji, control characters,
SQL and HTML fragments, more than Telegram's 4,096 characters), commands with
junk arguments, media where text is expected, and button presses with random
or forged callback data, including well-formed ``v1:`` data with wrong ids.
They come from an unbound user, a bound resident and a staff member of
another community, through the sandbox to the real bot polling it, while the
sender is outside any dialogue or at a step that waits for typed text or a
photo (a question, a repair report, a notice, the opening of a round).

Each update must be answered (a message or a callback answer), nothing may be
logged at ERROR, and an invalid update must leave every table as it was; at a
dialogue's step, or as a resident's question, it may change only that
dialogue and the question. A command or button that opens or leaves a dialogue
of its sender's (the resident's /repair, the staff member's /notice, /cancel,
a bare /start from the unbound user) may change only that dialogue, whatever
words follow it; the resident's /ask may ask a question. Only a valid action
of the sender's may change anything else: a vote on the open round, a settings
switch, a language the bot speaks, the resident's unbinding. Junk words make
no command valid: /start with anything but a real invite code only counts
against the sender as a wrong code.

The normal suite makes FUZZ_EXAMPLES updates; ``pytest -m fuzz`` runs the
larger FUZZ_EXAMPLES_LARGE in FUZZ_SHARDS shards (CI runs both, under pytest -n).
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.flows import consultation, dialogues, registry, repair
from bot.flows.audit import CLI
from bot.i18n import LANGUAGES
from sandbox.client import SandboxError, user
from storage.models import (
    AuditEvent,
    Broadcast,
    Delivery,
    Dialogue,
    NoticeKind,
    Question,
    QuestionMessage,
    Role,
    WrongCode,
)
from storage.types import utcnow
from tests.e2e.test_bad_input import PNG
from tests.registry import import_sample_registry, issue_codes
from tests.snapshot import snapshot

UNBOUND, RESIDENT, STAFF = 2101, 2102, 2103
FUZZ_EXAMPLES = 150
FUZZ_EXAMPLES_LARGE = int(os.environ.get("LINLI_FUZZ_EXAMPLES", "2000"))
# The large run is cut into shards that pytest -n runs side by side; together they make
# FUZZ_EXAMPLES_LARGE updates, each shard drawing its own at random.
FUZZ_SHARDS = 4
# Wrong invite codes are counted against the sender (the lockout): a deliberate change.
COUNTED = frozenset({WrongCode.__tablename__})
# What a step of the sender's own dialogue may change: the dialogue, and a question asked
# (which the FAQ cannot answer goes to staff: a message queued for them, an audit row).
STEP_TABLES = frozenset(
    model.__tablename__
    for model in (Dialogue, Question, QuestionMessage, Broadcast, Delivery, AuditEvent)
)
DIALOGUES = frozenset({Dialogue.__tablename__})
# Commands that open or leave a dialogue of their sender's, whatever words follow: who may.
DIALOGUE_COMMANDS = {
    "cancel": (UNBOUND, RESIDENT, STAFF),
    "notice": (STAFF,),
    "repair": (RESIDENT,),
}
# Buttons that open or leave a dialogue of their sender's: who may press them.
DIALOGUE_PRESSES = {
    "v1:cons:new": STAFF, "v1:cons:new2": STAFF, "v1:cons:stop": STAFF, "v1:rep:new": RESIDENT,
}  # fmt: skip
COMMANDS = [
    "start", "help", "me", "unbind", "lang", "cancel", "vote", "staff", "results",
    "ranking", "notice", "project", "progress", "settings", "repair", "myrequests", "ask",
    "inspect", "queue", "inbox", "supervisors", "fundreport", "frobnicate",
]  # fmt: skip
FEATURES = [
    "vote", "cons", "ntc", "proj", "move", "lang", "set", "unbind", "menu", "plan", "rep", "rq",
    "ask", "inbox", "sup", "obs",
]  # fmt: skip
FRAGMENTS = [
    "'; DROP TABLE resident; --", "\" OR 1=1 --", "<b>粗体</b>", "<script>alert(1)</script>",
    "&amp;&lt;", "%s%n{0}", "\x00\x01\x1b[31m", "\u202e反转", "👨‍👩‍👧‍👦🏚️", "v1:vote:1:agree",
]  # fmt: skip

any_text = st.one_of(
    st.text(min_size=1, max_size=300),
    st.sampled_from(FRAGMENTS),
    st.builds(lambda s, n: (s or "长") * n, st.text(max_size=3), st.integers(4097, 5000)),
)
# Surrogates are left out: no client can send them, and JSON over HTTP cannot carry them.
junk_part = st.text(
    alphabet=st.characters(blacklist_characters=":", blacklist_categories=("Cs",)), max_size=12
)
wrong_id = st.one_of(st.integers(10_000, 10**12), st.just(0), st.just(-1))
forged_data = st.one_of(
    st.text(max_size=64),
    st.builds(
        lambda feature, parts: ":".join(["v1", feature, *parts]),
        st.sampled_from(FEATURES),
        st.lists(junk_part, max_size=4),
    ),
    st.builds(lambda i, c: f"v1:vote:{i}:{c}", wrong_id, st.sampled_from(["agree", "disagree"])),
    st.builds(
        lambda a, i: f"v1:cons:{a}:{i}",
        st.sampled_from(["in", "results", "remind", "close"]),
        wrong_id,
    ),
    st.builds(lambda a, i: f"v1:ntc:{a}:{i}", st.sampled_from(["c", "u", "retry"]), wrong_id),
    st.builds(lambda i, s: f"v1:proj:adv:{i}:{s}", wrong_id, st.sampled_from(["design", "x"])),
    st.builds(lambda i: f"v1:move:{i}:yes", wrong_id),
)
media = st.sampled_from(
    [
        {"sticker": {"emoji": "😀"}},
        {"photo_b64": PNG},
        {"location": {"latitude": 30.75, "longitude": 120.76}},
        {"contact": {"phone_number": "+8613800000000", "first_name": "王"}},
    ]
)
# Where the sender stands when the update comes: outside any dialogue, or at a step that
# waits for typed text (or a photo).
STATES = [
    None,
    "ask",
    "repair:spot",
    "repair:description",
    "repair:photos",
    "notice:content",
    "notice:at",
    "consult_open:title",
    "consult_open:closes",
]
updates = st.tuples(
    st.sampled_from([UNBOUND, RESIDENT, STAFF]),
    st.one_of(
        st.tuples(st.just("text"), any_text),
        st.tuples(
            st.just("command"),
            st.builds(lambda c, a: f"/{c} {a}".strip(), st.sampled_from(COMMANDS), any_text),
        ),
        st.tuples(st.just("press"), forged_data),
        st.tuples(st.just("media"), media),
    ),
    st.sampled_from(STATES),
)


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
async def fuzz_world(db, telegram, running_bot):
    """The open round of 运南新村, its resident, a staff member of 梅湾花园; an error log."""
    await import_sample_registry(db)
    async with db.session() as session:
        await registry.add_staff(session, STAFF, Role.STAFF, ["梅湾花园"], CLI)
        community = await registry.community_named(session, "运南新村")
        opened = await consultation.open_round1(
            session, community.id, "改造意愿征询", "同意改造吗？", utcnow() + timedelta(days=3), CLI
        )
    code = next(iter((await issue_codes(db, "运南新村")).values()))
    hosts = {}
    for telegram_id in (UNBOUND, RESIDENT, STAFF):
        first = "/help" if telegram_id != RESIDENT else f"/start {code}"
        after = await telegram.last_seq()
        await telegram.send(user(telegram_id), first)
        hosts[telegram_id] = (await telegram.wait_for(telegram_id, after=after))["message"]
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    yield hosts, valid_presses(opened.id), errors
    logging.getLogger().removeHandler(errors)


def valid_presses(round_id: int) -> dict[int, frozenset[str]]:
    """Sender -> the buttons that are valid actions of theirs, which may change anything."""
    anyone = {f"v1:lang:{language}" for language in LANGUAGES} | {
        f"v1:set:{kind}:{flip}" for kind in NoticeKind for flip in ("on", "off")
    }
    resident = {f"v1:vote:{round_id}:{choice}" for choice in ("agree", "disagree")}
    return {
        UNBOUND: frozenset(anyone),
        RESIDENT: frozenset(anyone | resident | {"v1:unbind:yes"}),
        STAFF: frozenset(anyone),
    }


def command_of(text: str) -> tuple[str, str] | None:
    """The command a text gives the bot and the words after it; None if it is no command."""
    if not text.startswith("/"):
        return None
    head, *words = text.split(maxsplit=1)
    return head[1:].partition("@")[0].lower(), "".join(words)


def command_changes(sender: int, name: str, words: str) -> frozenset[str]:
    """What a command may change beyond the wrong codes it counts, whatever its words."""
    if name == "ask" and sender == RESIDENT:
        return STEP_TABLES  # a bare /ask waits for the question; with words, it asks
    if name == "start" and not words and sender == UNBOUND:
        return DIALOGUES  # it waits for the invite code
    return DIALOGUES if sender in DIALOGUE_COMMANDS.get(name, ()) else frozenset()


def may_change(valid, sender: int, kind: str, payload, in_dialogue: bool) -> frozenset[str] | None:
    """The tables an update may change (None: any, for a valid action of the sender's)."""
    if kind == "press" and payload in valid[sender]:
        return None
    command = command_of(payload) if kind in ("text", "command") else None
    if command is not None:
        allowed = command_changes(sender, *command)
    elif kind == "text" and sender == RESIDENT:
        allowed = STEP_TABLES  # a bound resident's free text is a question
    elif kind == "press" and DIALOGUE_PRESSES.get(payload) == sender:
        allowed = DIALOGUES
    else:
        allowed = frozenset()
    return COUNTED | allowed | (STEP_TABLES if in_dialogue else frozenset())


async def deliver(telegram, hosts, sender: int, kind: str, payload) -> int | None:
    """Send one generated update; the seq to wait after, or None if Telegram would refuse it."""
    after = await telegram.last_seq()
    somebody = user(sender)
    try:
        if kind == "press":
            await telegram.press(somebody, hosts[sender]["message_id"], payload)
        elif kind == "media":
            await telegram.send(somebody, **payload)
        elif len(payload) > 4096:  # more than a client can send: straight into the queue
            message = {
                "message_id": 1,
                "from": {**somebody, "is_bot": False},
                "date": 0,
                "text": payload,
            }
            message["chat"] = {"id": sender, "type": "private", "first_name": "Resident"}
            await telegram.inject({"message": message})
        else:
            await telegram.send(somebody, payload)
    except SandboxError as refusal:
        # Telegram's own checks (an empty text, a malformed entity) stop it before the bot.
        assert refusal.status == 400, refusal
        return None
    return after


async def enter(db, sender: int, state: str | None) -> bool:
    """Put the sender at ``state``, if it is one of theirs; whether they are in a dialogue."""
    kind, _, step = (state or "").partition(":")
    async with db.session() as session:
        await dialogues.finish(session, sender)
        if sender == RESIDENT and kind == "ask":
            await dialogues.start(session, sender, "ask")
        elif sender == RESIDENT and kind == "repair":
            await repair.start_intake(session, sender)
            await repair.choose_category(session, sender, "roof_leak")
            await repair.choose_place(session, sender, True)
            if step != "spot":
                await repair.set_spot(session, sender, None)
                await repair.choose_urgency(session, sender, True)
            if step == "photos":
                await repair.set_description(session, sender, "楼顶漏水，走廊积水")
        elif sender == STAFF and kind in ("notice", "consult_open"):
            community = await registry.community_named(session, "梅湾花园")
            data = {
                "notice:content": {"step": "content"},
                "notice:at": {
                    "step": "at",
                    "body": "停水通知",
                    "photo_file_id": None,
                    "document_file_id": None,
                    "audience": {"kind": "communities", "ids": [community.id]},
                },
                "consult_open:title": {"step": "title", "round": 1},
                "consult_open:closes": {
                    "step": "closes", "round": 1, "title": "改造意愿征询", "question": "同意吗？"
                },
            }[state]  # fmt: skip
            if kind == "consult_open":
                data.update(community_id=community.id, community=community.name)
            await dialogues.start(session, sender, kind, **data)
        else:
            return False
    return True


async def check_one(db, telegram, fuzz_world, update) -> None:
    hosts, valid, errors = fuzz_world
    sender, (kind, payload), state = update
    in_dialogue = await enter(db, sender, state)
    unchecked = may_change(valid, sender, kind, payload, in_dialogue)
    errors.records.clear()
    before = await snapshot(db, leave_out=unchecked or COUNTED)
    after = await deliver(telegram, hosts, sender, kind, payload)
    if after is not None:
        answer = await telegram.wait_for(
            sender,
            after=after,
            kind=None,
            predicate=lambda e: e["kind"] in ("message", "callback_answer", "edit"),
        )
        assert answer is not None
    assert not errors.records, [r.getMessage() for r in errors.records]
    if unchecked is not None:
        assert await snapshot(db, leave_out=unchecked) == before, update


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(update=updates)
async def test_any_update_is_answered_and_changes_nothing(db, telegram, fuzz_world, update):
    await check_one(db, telegram, fuzz_world, update)


@pytest.mark.fuzz
@pytest.mark.parametrize("shard", range(FUZZ_SHARDS))
@settings(
    max_examples=-(-FUZZ_EXAMPLES_LARGE // FUZZ_SHARDS),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(update=updates)
async def test_thousands_of_updates(db, telegram, fuzz_world, update, shard):
    await check_one(db, telegram, fuzz_world, update)


@pytest.mark.parametrize("data", ["v1:vote:2147483648:agree", "v1:vote:²:agree", "v1:cons:close:٣"])
async def test_a_forged_id_beyond_the_database_is_a_stale_button(db, telegram, fuzz_world, data):
    """Found by the fuzzer: ids too large for an integer column, or digits that are not
    ASCII, used to reach the database and fail there."""
    hosts, _, errors = fuzz_world
    before = await snapshot(db)
    after = await deliver(telegram, hosts, RESIDENT, "press", data)
    answer = await telegram.wait_for(RESIDENT, after=after, kind="callback_answer")
    assert answer["text"] == "这个按钮已失效，请重新操作。" and answer["show_alert"]
    assert not errors.records
    assert await snapshot(db) == before
