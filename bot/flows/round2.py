"""Round 2, the menu (方案征询, 点菜式): households order renovation items like dishes.

A round-2 consultation has its own menu, taken from the catalogue: basic
items are included anyway; residents choose among the improvement and upgrade
items, within the consultation's optional rules (at least N items, at most M,
and a budget the chosen items' estimated costs may not exceed: the knapsack
ballot of participatory budgeting). Toggling only changes a draft held in
the database (the resident's dialogue), so it survives a restart; Submit
checks the rules and replaces the household's selection, which the household
may change until closing. At closing the plan is drawn: basic items, plus the
items chosen by at least the inclusion share of the answering households, or,
when the community has a budget, the most chosen items that fit within it.
Staff may take an item out of the plan or put one in, each with a recorded
reason, and confirm it; then the residents are told.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from sqlalchemy import delete
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows import dialogues, menu, outbox
from bot.flows.audit import Actor, record
from bot.flows.consultation import (
    DEFAULT_REMINDER,
    MACHINE,
    ConsultationError,
    Entry,
    Replace,
    admit,
    answer_buttons,
    ballot_of,
    community_of_household_locked,
    entry_details,
    mark_closed,
    open_consultation,
    open_for,
    residents_in,
    residents_of,
    still_open,
    write_ballot,
)
from bot.flows.transitions import Party
from bot.i18n import LANGUAGES, text
from storage.models import (
    Ballot,
    Building,
    Community,
    Consultation,
    ConsultationItem,
    ConsultationStatus,
    Household,
    ItemClass,
    MenuItem,
    Resident,
    Selection,
)
from storage.types import utcnow

PAGE_SIZE = 8
DIALOGUE = "menu"
ANSWERED = "menu"  # the Ballot choice that says a household submitted a selection
CLASS_ORDER = {ItemClass.BASIC: 0, ItemClass.IMPROVEMENT: 1, ItemClass.UPGRADE: 2}


@dataclass(frozen=True)
class Rules:
    """What a household's selection must keep to; None means no such rule."""

    min_items: int | None = None
    max_items: int | None = None
    budget_fen: int | None = None

    def broken_by(self, count: int, total_fen: int) -> tuple[str, dict[str, object]] | None:
        """The first rule a selection of ``count`` items costing ``total_fen`` breaks."""
        if self.min_items is not None and count < self.min_items:
            return "menu.too_few", {"min": self.min_items, "count": count}
        if self.max_items is not None and count > self.max_items:
            return "menu.too_many", {"max": self.max_items, "count": count}
        if self.budget_fen is not None and total_fen > self.budget_fen:
            return "menu.over_budget", {
                "budget": menu.fen_text(self.budget_fen),
                "total": menu.fen_text(total_fen),
            }
        return None


@dataclass(frozen=True)
class Menu:
    consultation: Consultation
    items: list[MenuItem]  # in the order residents see them

    @property
    def rules(self) -> Rules:
        c = self.consultation
        return Rules(c.min_items, c.max_items, c.budget_fen)

    @property
    def basic(self) -> list[MenuItem]:
        return [item for item in self.items if item.item_class == ItemClass.BASIC]

    @property
    def choosable(self) -> list[MenuItem]:
        return [item for item in self.items if item.item_class != ItemClass.BASIC]

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.choosable) // PAGE_SIZE))

    def page(self, number: int) -> list[MenuItem]:
        return self.choosable[number * PAGE_SIZE : (number + 1) * PAGE_SIZE]

    def item(self, item_id: int) -> MenuItem | None:
        return next((item for item in self.items if item.id == item_id), None)


@dataclass(frozen=True)
class Draft:
    """A resident's selection in the making, and the household's submitted one."""

    menu: Menu
    chosen: frozenset[int]
    page: int
    submitted: frozenset[int] | None  # None: the household has not submitted yet
    submitted_at: datetime | None = None

    @property
    def total_fen(self) -> int:
        return sum(item.cost_fen for item in self.menu.choosable if item.id in self.chosen)

    @property
    def broken_rule(self) -> tuple[str, dict[str, object]] | None:
        return self.menu.rules.broken_by(len(self.chosen), self.total_fen)


@dataclass(frozen=True)
class Submitted:
    draft: Draft
    previous: list[str] | None  # codes of the household's earlier selection
    cast_at: datetime
    written: bool = True  # False: a staff entry that said what the household had chosen


@dataclass(frozen=True)
class ItemCount:
    item: MenuItem
    households: int
    in_plan: bool | None
    plan_note: str | None


LOW_TURNOUT = Fraction(1, 2)


@dataclass(frozen=True)
class MenuTally:
    consultation: Consultation
    community: str
    total: int  # registered households when the round opened
    answered: int
    items: list[ItemCount]  # most chosen first; basic items last

    def share_of_all(self, count: ItemCount) -> Fraction:
        return Fraction(count.households, self.total)

    def share_of_answered(self, count: ItemCount) -> Fraction:
        return Fraction(count.households, self.answered) if self.answered else Fraction(0)

    @property
    def plan(self) -> list[ItemCount]:
        return [count for count in self.items if count.in_plan]

    @property
    def removed(self) -> list[ItemCount]:
        """Items staff took out of the drawn plan, each with the reason they gave."""
        return [count for count in self.items if count.in_plan is False and count.plan_note]

    @property
    def low_turnout(self) -> bool:
        """Fewer than half of the households chose: the plan rests on few of them."""
        return self.answered * LOW_TURNOUT.denominator < self.total * LOW_TURNOUT.numerator


# Opening


async def round1_passed(session: AsyncSession, community_id: int) -> bool:
    """Whether the community's latest closed round 1 reached its threshold."""
    statement = (
        select(Consultation.reached)
        .where(
            Consultation.community_id == community_id,
            Consultation.round == 1,
            Consultation.status == ConsultationStatus.CLOSED,
        )
        .order_by(col(Consultation.id).desc())
        .limit(1)
    )
    return bool((await session.exec(statement)).first())


async def open_round2(
    session: AsyncSession,
    community_id: int,
    title: str,
    question: str,
    closes_at: datetime,
    actor: Actor,
    *,
    codes: list[str] | None = None,
    rules: Rules = Rules(),
    inclusion_percent: int = 50,
    plan_budget_fen: int | None = None,
    override_reason: str | None = None,
    remind_before: timedelta | None = DEFAULT_REMINDER,
) -> Consultation:
    """Open round 2 with a menu (``codes`` from the catalogue; all of it by default).

    Only for a community whose round 1 reached the threshold, unless an admin
    gives ``override_reason``, which is recorded.
    """
    override_reason = (override_reason or "").strip() or None
    if not await round1_passed(session, community_id) and override_reason is None:
        raise ConsultationError("menu.round1_not_passed")
    await menu.ensure_catalogue(session, actor)
    items = await _catalogue_items(session, codes)
    _check_rules(rules, items, inclusion_percent, plan_budget_fen)
    consultation = Consultation(
        community_id=community_id,
        round=2,
        title=title,
        question=question,
        closes_at=closes_at,
        min_items=rules.min_items,
        max_items=rules.max_items,
        budget_fen=rules.budget_fen,
        inclusion_percent=inclusion_percent,
        plan_budget_fen=plan_budget_fen,
        override_reason=override_reason[:500] if override_reason else None,
    )

    async def add_menu(opened: Consultation) -> None:
        for position, item in enumerate(items):
            session.add(
                ConsultationItem(consultation_id=opened.id, item_id=item.id, position=position)
            )

    return await open_consultation(session, consultation, actor, remind_before, add_menu)


async def _catalogue_items(session: AsyncSession, codes: list[str] | None) -> list[MenuItem]:
    items = await menu.catalogue(session)
    if codes is not None:
        wanted = {code.strip().upper() for code in codes if code.strip()}
        unknown = wanted - {item.code for item in items}
        if unknown:
            raise ConsultationError("menu.unknown_items", codes=", ".join(sorted(unknown)))
        items = [item for item in items if item.code in wanted]
    items.sort(key=lambda item: (CLASS_ORDER[ItemClass(item.item_class)], item.code))
    return items


def _check_rules(
    rules: Rules, items: list[MenuItem], inclusion_percent: int, plan_budget_fen: int | None
) -> None:
    choosable = sum(1 for item in items if item.item_class != ItemClass.BASIC)
    if choosable == 0:
        raise ConsultationError("menu.nothing_to_choose")
    low, high = rules.min_items, rules.max_items
    if (low is not None and not 0 <= low <= choosable) or (high is not None and high < 1):
        raise ConsultationError("menu.bad_rules")
    if low is not None and high is not None and low > high:
        raise ConsultationError("menu.bad_rules")
    if (rules.budget_fen is not None and rules.budget_fen <= 0) or (
        plan_budget_fen is not None and plan_budget_fen <= 0
    ):
        raise ConsultationError("menu.bad_rules")
    if not 1 <= inclusion_percent <= 100:
        raise ConsultationError("consult.bad_threshold")


async def newest(session: AsyncSession, community_id: int) -> Consultation | None:
    """The community's newest round 2 in whatever state: open, closed, plan confirmed."""
    statement = (
        select(Consultation)
        .where(Consultation.community_id == community_id, Consultation.round == 2)
        .order_by(col(Consultation.id).desc())
        .limit(1)
    )
    return (await session.exec(statement)).first()


async def needing_staff(
    session: AsyncSession, community_ids: set[int] | None = None
) -> list[Consultation]:
    """Round-2 consultations that are open or whose plan awaits confirming."""
    statement = select(Consultation).where(
        Consultation.round == 2, col(Consultation.plan_confirmed_at).is_(None)
    )
    if community_ids is not None:
        statement = statement.where(col(Consultation.community_id).in_(community_ids))
    return list(await session.exec(statement.order_by(Consultation.id)))


# A household's selection


async def menu_of(session: AsyncSession, consultation_id: int) -> Menu:
    consultation = await session.get(Consultation, consultation_id)
    if consultation is None or consultation.round != 2:
        raise ConsultationError("button.stale")
    statement = (
        select(MenuItem)
        .join(ConsultationItem, col(ConsultationItem.item_id) == MenuItem.id)
        .where(ConsultationItem.consultation_id == consultation_id)
        .order_by(ConsultationItem.position)
    )
    return Menu(consultation, list(await session.exec(statement)))


async def _household(session: AsyncSession, telegram_id: int, menu_: Menu, lock: bool) -> int:
    """The resident's household, checked against the consultation; refuses if it closed."""
    household_id = (
        await session.exec(select(Resident.household_id).where(Resident.telegram_id == telegram_id))
    ).first()
    if household_id is None:
        raise ConsultationError("vote.unbound")
    if lock:
        community_id = await community_of_household_locked(session, household_id)
    else:
        community_id = await _community_of(session, household_id)
    if community_id != menu_.consultation.community_id:
        raise ConsultationError("vote.other_community")
    consultation = menu_.consultation
    if lock:
        is_open = await still_open(session, consultation.id)
    else:
        is_open = (
            consultation.status == ConsultationStatus.OPEN and utcnow() < consultation.closes_at
        )
    if not is_open:
        raise ConsultationError("vote.closed")
    return household_id


async def _community_of(session: AsyncSession, household_id: int) -> int:
    statement = (
        select(Building.community_id)
        .join(Household, col(Household.building_id) == Building.id)
        .where(Household.id == household_id)
    )
    return (await session.exec(statement)).one()


async def _submitted(
    session: AsyncSession, consultation_id: int, household_id: int
) -> frozenset[int] | None:
    ballot = (
        await session.exec(
            select(Ballot.id).where(
                Ballot.consultation_id == consultation_id, Ballot.household_id == household_id
            )
        )
    ).first()
    if ballot is None:
        return None
    chosen = await session.exec(
        select(Selection.item_id).where(
            Selection.consultation_id == consultation_id, Selection.household_id == household_id
        )
    )
    return frozenset(chosen)


async def draft(
    session: AsyncSession, telegram_id: int, consultation_id: int, page: int | None = None
) -> Draft:
    """The resident's draft for this menu: the one in progress, or the household's
    submitted selection to start from."""
    menu_ = await menu_of(session, consultation_id)
    household_id = await _household(session, telegram_id, menu_, lock=False)
    submitted = await _submitted(session, consultation_id, household_id)
    ballot = await ballot_of(session, consultation_id, household_id)
    dialogue = await dialogues.current(session, telegram_id)
    if (
        dialogue is not None
        and dialogue.kind == DIALOGUE
        and dialogue.data.get("consultation") == consultation_id
    ):
        chosen = frozenset(dialogue.data.get("chosen", []))
        current_page = dialogue.data.get("page", 0)
    else:
        chosen, current_page = submitted or frozenset(), 0
    if page is not None:
        if not 0 <= page < menu_.pages:
            raise ConsultationError("button.stale")
        current_page = page
    choosable = {item.id for item in menu_.choosable}
    result = Draft(
        menu_,
        chosen & choosable,
        min(current_page, menu_.pages - 1),
        submitted,
        ballot.cast_at if ballot is not None else None,
    )
    await _keep(session, telegram_id, result)
    return result


async def _keep(session: AsyncSession, telegram_id: int, kept: Draft) -> None:
    await dialogues.start(
        session,
        telegram_id,
        DIALOGUE,
        consultation=kept.menu.consultation.id,
        chosen=sorted(kept.chosen),
        page=kept.page,
    )


async def toggle(
    session: AsyncSession, telegram_id: int, consultation_id: int, item_id: int
) -> Draft:
    """Choose or unchoose an item in the draft; a basic or foreign item is refused."""
    current = await draft(session, telegram_id, consultation_id)
    item = current.menu.item(item_id)
    if item is None:
        raise ConsultationError("button.stale")
    if item.item_class == ItemClass.BASIC:
        raise ConsultationError("menu.basic_fixed")
    chosen = current.chosen ^ {item_id}
    changed = dataclasses.replace(current, chosen=chosen)
    await _keep(session, telegram_id, changed)
    return changed


async def submit(
    session: AsyncSession, telegram_id: int, consultation_id: int, actor: Actor
) -> Submitted:
    """Record the draft as the household's selection, if it keeps to the rules.

    The household row is locked first, so two residents of one household
    submitting at once leave exactly one selection: the last.
    """
    current = await draft(session, telegram_id, consultation_id)
    household_id = await _household(session, telegram_id, current.menu, lock=True)
    submitted = await _put(
        session, current, household_id, Entry(by=telegram_id), actor, Replace.WITH_REASON
    )
    await dialogues.finish(session, telegram_id)
    return submitted


async def record_selection(
    session: AsyncSession,
    consultation_id: int,
    household_id: int,
    codes: list[str],
    entry: Entry,
    actor: Actor,
    replace: Replace = Replace.WITH_REASON,
) -> Submitted:
    """Record a household's selection that staff bring in (a paper form, a visit).

    The same rules hold as in the bot, and the same rule where channels meet;
    the household's bound residents are told and may still choose in the bot.
    """
    menu_ = await menu_of(session, consultation_id)
    by_code = {item.code: item for item in menu_.items}
    wanted = {code.strip().upper() for code in codes if code.strip()}
    unknown = wanted - by_code.keys()
    if unknown:
        raise ConsultationError("menu.unknown_items", codes=", ".join(sorted(unknown)))
    if any(by_code[code].item_class == ItemClass.BASIC for code in wanted):
        raise ConsultationError("menu.basic_fixed")
    await open_for(session, consultation_id, household_id, round_=2)
    submitted = await _submitted(session, consultation_id, household_id)
    chosen = frozenset(by_code[code].id for code in wanted)
    current = Draft(menu_, chosen, 0, submitted)
    result = await _put(session, current, household_id, entry, actor, replace)
    bound = [other for other in await residents_of(session, household_id) if other != entry.by]
    if result.written and bound:
        await outbox.enqueue(
            session,
            "ballot.entered",
            bound,
            "offline.told_menu",
            subject=f"consultation:{consultation_id}:{household_id}:{result.cast_at.isoformat()}",
            values={"title": menu_.consultation.title, "items": ", ".join(sorted(wanted)) or "-"},
            buttons=answer_buttons(menu_.consultation),
        )
    return result


async def _put(
    session: AsyncSession,
    current: Draft,
    household_id: int,
    entry: Entry,
    actor: Actor,
    replace: Replace,
) -> Submitted:
    """Check the selection against the rules and the channel rule, then make it the
    household's: its items replace the earlier ones, its ballot says who and how."""
    broken = current.broken_rule
    if broken is not None:
        raise ConsultationError(broken[0], **broken[1])
    consultation_id = current.menu.consultation.id
    previous_ids = await _submitted(session, consultation_id, household_id)
    ballot = await ballot_of(session, consultation_id, household_id)

    def codes(ids: frozenset[int] | None) -> list[str] | None:
        if ids is None:
            return None
        return sorted(item.code for item in current.menu.items if item.id in ids)

    if not admit(ballot, entry, previous_ids == current.chosen, replace):
        kept = dataclasses.replace(current, submitted=current.chosen, submitted_at=ballot.cast_at)
        return Submitted(kept, codes(previous_ids), ballot.cast_at, written=False)
    await session.exec(
        delete(Selection).where(
            col(Selection.consultation_id) == consultation_id,
            col(Selection.household_id) == household_id,
        )
    )
    for item_id in sorted(current.chosen):
        session.add(
            Selection(consultation_id=consultation_id, household_id=household_id, item_id=item_id)
        )
    replaced = ballot.channel if ballot is not None else None
    now = write_ballot(session, ballot, consultation_id, household_id, ANSWERED, entry)
    record(
        session,
        actor,
        "selection/submit",
        f"consultation:{consultation_id}",
        household_id=household_id,
        previous=codes(previous_ids),
        previous_channel=replaced,
        new=codes(current.chosen),
        total_fen=current.total_fen,
        **entry_details(entry),
    )
    done = dataclasses.replace(current, submitted=current.chosen, submitted_at=now)
    return Submitted(done, codes(previous_ids), now)


# Tallies and the plan


async def tally(session: AsyncSession, consultation_id: int) -> MenuTally:
    """Per item, the households that chose it; most chosen first, basic items last.

    Once the round is closed the counts frozen at closing are read, as
    round 1's figures are: the plan stays the one announced.
    """
    menu_ = await menu_of(session, consultation_id)
    consultation = menu_.consultation
    plan = {
        row.item_id: row
        for row in await session.exec(
            select(ConsultationItem).where(ConsultationItem.consultation_id == consultation_id)
        )
    }
    if all(row.chosen_by is not None for row in plan.values()):
        counts = {item_id: row.chosen_by for item_id, row in plan.items()}
    else:
        counts = dict(
            (
                await session.exec(
                    select(Selection.item_id, func.count())
                    .where(Selection.consultation_id == consultation_id)
                    .group_by(Selection.item_id)
                )
            ).all()
        )
    answered = (
        await session.exec(
            select(func.count())
            .select_from(Ballot)
            .where(Ballot.consultation_id == consultation_id)
        )
    ).one()
    positions = {item.id: position for position, item in enumerate(menu_.items)}
    rows = [
        ItemCount(item, counts.get(item.id, 0), plan[item.id].in_plan, plan[item.id].plan_note)
        for item in menu_.items
    ]
    rows.sort(
        key=lambda row: (
            row.item.item_class == ItemClass.BASIC,
            -row.households,
            positions[row.item.id],
        )
    )
    community = await session.get(Community, consultation.community_id)
    return MenuTally(consultation, community.name, consultation.total_households, answered, rows)


def draw_plan(result: MenuTally) -> set[int]:
    """The ids of the items the plan takes, by the consultation's rule.

    Basic items always. Then either every item chosen by at least
    ``inclusion_percent`` of the answering households (exactly that share
    included), or, with a budget for the community, the most chosen items in
    order, each taken if it still fits.
    """
    consultation = result.consultation
    taken = {row.item.id for row in result.items if row.item.item_class == ItemClass.BASIC}
    chosen = [
        row for row in result.items if row.item.item_class != ItemClass.BASIC and row.households
    ]
    if consultation.plan_budget_fen is None:
        share = consultation.inclusion_percent
        taken |= {row.item.id for row in chosen if row.households * 100 >= share * result.answered}
        return taken
    left = consultation.plan_budget_fen
    for row in chosen:  # most chosen first
        if row.item.cost_fen <= left:
            taken.add(row.item.id)
            left -= row.item.cost_fen
    return taken


async def close(session: AsyncSession, consultation_id: int, actor: Actor) -> MenuTally:
    """Close the round, freeze each item's count and draw the plan for staff to confirm.

    Closing twice changes nothing the second time.
    """
    await mark_closed(session, consultation_id, round_=2)
    result = await tally(session, consultation_id)
    taken = draw_plan(result)
    for row in await session.exec(
        select(ConsultationItem).where(ConsultationItem.consultation_id == consultation_id)
    ):
        row.chosen_by = next(c.households for c in result.items if c.item.id == row.item_id)
        row.in_plan = row.item_id in taken
    record(
        session,
        actor,
        "consultation/close",
        f"consultation:{consultation_id}",
        answered=result.answered,
        total=result.total,
        plan=sorted(row.item.code for row in result.items if row.item.id in taken),
    )
    await outbox.enqueue(
        session,
        "consultation.outcome",
        await residents_in(session, result.consultation.community_id),
        "menu.closed",
        subject=f"consultation:{consultation_id}",
        values={
            "community": result.community,
            "title": result.consultation.title,
            "answered": result.answered,
            "total": result.total,
        },
    )
    return await tally(session, consultation_id)


async def _closed_unconfirmed(session: AsyncSession, consultation_id: int) -> Consultation:
    consultation = await session.get(Consultation, consultation_id)
    if consultation is None or consultation.round != 2:
        raise ConsultationError("consult.not_found")
    if consultation.status != ConsultationStatus.CLOSED:
        raise ConsultationError("menu.plan_not_drawn")
    if consultation.plan_confirmed_at is not None:
        raise ConsultationError("menu.plan_confirmed_already")
    return consultation


async def change_plan(
    session: AsyncSession,
    consultation_id: int,
    code: str,
    include: bool,
    reason: str,
    actor: Actor,
) -> MenuTally:
    """Put an item into the plan or take it out, with a reason that is recorded.

    Basic items are done anyway and stay in.
    """
    await _closed_unconfirmed(session, consultation_id)
    reason = reason.strip()
    if not reason:
        raise ConsultationError("menu.reason_needed")
    row = (
        await session.exec(
            select(ConsultationItem)
            .join(MenuItem, col(MenuItem.id) == ConsultationItem.item_id)
            .where(
                ConsultationItem.consultation_id == consultation_id,
                MenuItem.code == code.strip().upper(),
            )
        )
    ).first()
    if row is None:
        raise ConsultationError("menu.unknown_items", codes=code)
    item = await session.get(MenuItem, row.item_id)
    if item.item_class == ItemClass.BASIC:
        raise ConsultationError("menu.basic_fixed")
    if row.in_plan == include:
        raise ConsultationError("menu.plan_unchanged")
    row.in_plan, row.plan_note = include, reason[:500]
    record(
        session,
        actor,
        "plan/include" if include else "plan/remove",
        f"consultation:{consultation_id}",
        item=item.code,
        reason=reason,
    )
    return await tally(session, consultation_id)


async def confirm_plan(
    session: AsyncSession, consultation_id: int, actor: Actor, chart: bytes | None = None
) -> MenuTally:
    """Confirm the plan and send it to the community's residents, with a chart."""
    consultation = await _closed_unconfirmed(session, consultation_id)
    # Two staff confirming at once: the second finds the plan confirmed and sends nothing.
    await MACHINE.move(
        session,
        consultation,
        ConsultationStatus.CLOSED,
        Party.STAFF,
        values={"plan_confirmed_at": utcnow()},
        unchanged=["plan_confirmed_at"],
        action="ok",
    )
    result = await tally(session, consultation_id)

    def removed(language: str) -> str:
        if not result.removed:
            return ""
        lines = [
            text(
                language,
                "menu.plan_removed_item",
                name=menu.name_of(r.item, language),
                reason=r.plan_note,
            )
            for r in result.removed
        ]
        return text(language, "menu.plan_removed", items="\n".join(lines))

    def caution(language: str) -> str:
        if not result.low_turnout:
            return ""
        return text(language, "menu.plan_low_turnout", answered=result.answered, total=result.total)

    def listing(language: str) -> str:
        return "\n".join(
            f"• {menu.name_of(row.item, language)}"
            + (
                ""
                if row.item.item_class == ItemClass.BASIC
                else f" ({row.households}/{result.answered})"
            )
            for row in result.plan
        )

    record(
        session,
        actor,
        "plan/confirm",
        f"consultation:{consultation_id}",
        plan=[row.item.code for row in result.plan],
    )
    residents = await residents_in(session, consultation.community_id)
    if chart is not None:  # apart from the text, which may be longer than a caption
        await outbox.enqueue(
            session,
            "consultation.plan",
            residents,
            "menu.plan_chart",
            subject=f"consultation:{consultation_id}:chart",
            values={"community": result.community},
            photo=chart,
        )
    await outbox.enqueue(
        session,
        "consultation.plan",
        residents,
        "menu.plan",
        subject=f"consultation:{consultation_id}",
        values={
            "community": result.community,
            "title": consultation.title,
            "answered": result.answered,
            "total": result.total,
            "items": {language: listing(language) for language in LANGUAGES},
            "removed": {language: removed(language) for language in LANGUAGES},
            "caution": {language: caution(language) for language in LANGUAGES},
        },
    )
    return result
