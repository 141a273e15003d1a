"""Telegram may deliver an update again: every kind, in order or not, has the effect of once.

A resident and a staff member go through the bot's main doors — binding by code, a vote,
a question, a repair report with a photo and a location pin, an edited message, a
sticker, the staff accepting the repair from the queue — and every update of theirs is
then delivered again, first newest first, then in the original order. Nothing in the
database may change and the bot may send nothing more.
"""

from __future__ import annotations

from datetime import timedelta

from bot.flows import consultation, registry
from bot.flows.audit import CLI
from sandbox.client import user
from storage.models import Role
from storage.types import utcnow
from tests.e2e.conftest import buttons
from tests.e2e.test_bad_input import PNG
from tests.e2e.test_outbox import wait_until_delivered
from tests.registry import import_sample_registry, issue_codes
from tests.snapshot import snapshot

RESIDENT, STAFF = 8801, 8802


class Actor:
    """Somebody whose every update is kept, to be delivered again."""

    def __init__(self, telegram, telegram_id: int, name: str) -> None:
        self.telegram, self.user, self.id = (
            telegram,
            user(telegram_id, first_name=name),
            telegram_id,
        )
        self.update_ids: list[int] = []

    async def _answered(self, after: int, kind: str | None = "message") -> dict:
        return await self.telegram.wait_for(self.id, after=after, kind=kind)

    async def send(self, text: str | None = None, **fields) -> dict:
        after = await self.telegram.last_seq()
        sent = await self.telegram.send(self.user, text, **fields)
        self.update_ids.append(sent["update_id"])
        return (await self._answered(after))["message"]

    async def press(self, label: str, then: str = "message") -> None:
        """Press the button whose label starts with ``label``, on the newest message with one;
        ``then`` is the kind of what comes of it (a new message, or an "edit")."""
        for message in reversed(await self.telegram.history(self.id)):
            found = [data for text, data in buttons(message).items() if text.startswith(label)]
            if found:
                break
        else:
            raise AssertionError(f"no button {label!r} in {self.id}'s chat")
        after = await self.telegram.last_seq()
        pressed = await self.telegram.press(self.user, message["message_id"], found[0])
        self.update_ids.append(pressed["update_id"])
        await self._answered(after, kind="callback_answer")
        await self._answered(after, kind=then)  # and what comes of it


async def test_every_kind_of_update_twice_has_the_effect_of_once(db, telegram, running_bot):
    await import_sample_registry(db)
    async with db.session() as session:
        await registry.add_staff(session, STAFF, Role.STAFF, ["南溪小区"], CLI)
        community = await registry.community_named(session, "南溪小区")
        await consultation.open_round1(
            session, community.id, "改造意愿征询", "同意改造吗？", utcnow() + timedelta(days=3), CLI
        )
    code = (await issue_codes(db, "南溪小区"))["1-1-101"]
    resident, staff = Actor(telegram, RESIDENT, "王芳"), Actor(telegram, STAFF, "社工")

    await staff.send("/help")
    bound = await telegram.last_seq()
    assert "绑定成功" in (await resident.send(f"/start {code}"))["text"]
    await telegram.wait_for(  # the round's question, which follows a binding during it
        RESIDENT, after=bound, predicate=lambda e: "同意改造吗" in e["message"].get("text", "")
    )
    await resident.send("/vote")
    await resident.press("同意", then="edit")  # the ballot, edited in place
    await resident.send("电梯坏了找谁？")
    edited = await resident.send("小区几点关门")
    await resident.send(edit_message_id=edited["message_id"] - 1, text="小区大门几点关？")
    await resident.send(sticker={"emoji": "👍"})
    await resident.send("/repair")
    for label in ("屋面漏水", "公共部位"):
        await resident.press(label)
    await resident.press("就是")
    await resident.press("紧急")
    await resident.send("楼顶漏雨，顶楼走廊积水")
    await resident.send(photo_b64=PNG)
    await resident.press("照片发完了")
    await resident.send(location={"latitude": 30.75, "longitude": 120.76})
    await resident.press("提交")
    await telegram.wait_for(STAFF, after=0, predicate=lambda e: "新报修" in e["message"]["text"])
    await staff.press("查看报修")
    await telegram.wait_for(STAFF, after=0, predicate=lambda e: "受理" in buttons(e["message"]))
    await staff.press("受理", then="edit")  # the card, edited in place
    await staff.send("/queue")

    await wait_until_delivered(db)  # the household is told its request was accepted
    before = await snapshot(db)
    sent_before = (await telegram.stats())["sent_messages"]
    updates = resident.update_ids + staff.update_ids
    for update_id in [*reversed(updates), *updates]:
        await telegram.redeliver(update_id)
    for somebody in (resident, staff):  # one chat's updates are handled in order
        await somebody.send("/me")
    assert await snapshot(db) == before
    assert (await telegram.stats())["sent_messages"] == sent_before + 2  # the two /me
