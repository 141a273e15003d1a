"""The schedule: closing times, reminders and notices, fired by PTB's JobQueue (APScheduler).

The database is the source of truth. A sweep every few seconds looks for
work that is due and schedules each open consultation's closing and reminder
at their exact times, so a restart rebuilds everything from the rows and a
consultation opened from the command line is picked up. Every job is
idempotent (closing twice, reminding twice do nothing the second time), and
only the leader process runs them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from telegram.ext import Application, ContextTypes, Job

from bot.flows import ask, charts, consultation, notices, repair, round2, supervision
from bot.flows.audit import Actor
from bot.flows.consultation import ConsultationError
from storage.types import utcnow

SCHEDULER = Actor(via="scheduler")


async def close_consultation(application: Application, consultation_id: int) -> None:
    try:
        async with application.bot_data["db"].session() as session:
            found = await session.get(consultation.Consultation, consultation_id)
            close = round2.close if found is not None and found.round == 2 else consultation.close
            await close(session, consultation_id, SCHEDULER)
    except ConsultationError:
        return  # closed already, by hand or by another run of this job


async def remind_consultation(application: Application, consultation_id: int) -> None:
    async with application.bot_data["db"].session() as session:
        found = await session.get(consultation.Consultation, consultation_id)
        if found is None or found.reminded_at is not None or found.status != "open":
            return
        await consultation.remind(session, consultation_id, SCHEDULER, scheduled=True)


async def fire_notice(application: Application, notice_id: int) -> None:
    settings = application.bot_data["settings"]
    grace = timedelta(minutes=settings.scheduler.notice_grace_minutes)
    async with application.bot_data["db"].session() as session:
        await notices.fire(session, notice_id, grace, settings.zone)


async def _run_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    action, number = context.job.data
    await ACTIONS[action](context.application, number)


ACTIONS = {"close": close_consultation, "remind": remind_consultation, "notice": fire_notice}


def _schedule(application: Application, action: str, number: int, when: datetime) -> None:
    """A one-off job at ``when``, unless the same one is scheduled already."""
    name = f"{action}:{number}:{when.isoformat()}"
    if application.job_queue.get_jobs_by_name(name):
        return
    application.job_queue.run_once(
        _run_job, when=max(when, utcnow()), data=(action, number), name=name
    )


async def sweep(application: Application) -> None:
    """Do what is overdue and make sure everything still ahead is scheduled."""
    if not await application.bot_data["leadership"].held():
        return
    async with application.bot_data["db"].session() as session:
        open_now = await consultation.open_consultations(session)
        upcoming = await notices.scheduled(session)
        settings = application.bot_data["settings"]
        await repair.chase_untriaged(session, settings.repair)
        await ask.remind_unanswered(session, settings.ask.staff_reminder_hours)
        for summary in await supervision.weekly_summaries_due(session, utcnow(), settings.zone):
            if summary.total == 0:
                continue  # a quiet week is not news
            chart = charts.observation_chart(settings.default_language, summary)
            await supervision.send_weekly_summary(session, summary, chart)
    for notice_id, next_at in upcoming:
        _schedule(application, "notice", notice_id, next_at)
    for item in open_now:
        _schedule(application, "close", item.id, item.closes_at)
        if item.remind_at is not None and item.reminded_at is None:
            _schedule(application, "remind", item.id, item.remind_at)


async def _sweep_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    await sweep(context.application)


def start(application: Application) -> Job:
    interval = application.bot_data["settings"].scheduler.sweep_seconds
    return application.job_queue.run_repeating(
        _sweep_job, interval=interval, first=0.5, name="sweep"
    )


async def stop(application: Application) -> None:
    await application.bot_data["leadership"].release()
