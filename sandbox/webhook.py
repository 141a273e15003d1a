"""Delivering a bot's updates to its webhook, one at a time and in order.

An update leaves the queue only when the receiver answers with a 2xx status. Until then it
is sent again after a growing pause, and the failure shows in getWebhookInfo, as with
Telegram (whose pauses are longer: these are short so that tests stay fast).
"""

from __future__ import annotations

import asyncio

import aiohttp

from .state import BotState, Webhook, now

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
FIRST_RETRY_DELAY = 0.05
LAST_RETRY_DELAY = 1.0
REQUEST_TIMEOUT = 10.0


def start_delivery(bot: BotState, hook: Webhook) -> None:
    """Make ``hook`` the bot's webhook and start sending it the pending updates."""
    bot.stop_webhook()
    bot.webhook = hook
    hook.task = asyncio.get_running_loop().create_task(_deliver(bot, hook))


async def _deliver(bot: BotState, hook: Webhook) -> None:
    headers = {SECRET_HEADER: hook.secret_token} if hook.secret_token else {}
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    delay = FIRST_RETRY_DELAY
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while bot.webhook is hook:
            if not bot.updates:
                await bot.update_signal.wait(60.0)
                continue
            update = bot.updates[0]
            error = await _post(session, hook.url, update, headers)
            if error is None:
                # The queue may have been cleared meanwhile; drop only what was delivered.
                if bot.updates and bot.updates[0] is update:
                    bot.updates.pop(0)
                delay = FIRST_RETRY_DELAY
                continue
            hook.last_error_date, hook.last_error_message = now(), error
            await asyncio.sleep(delay)
            delay = min(delay * 2, LAST_RETRY_DELAY)


async def _post(
    session: aiohttp.ClientSession, url: str, update: dict, headers: dict[str, str]
) -> str | None:
    """POST one update; None on success, else the error as getWebhookInfo words it."""
    try:
        async with session.post(url, json=update, headers=headers) as response:
            await response.read()
            if 200 <= response.status < 300:
                return None
            return f"Wrong response from the webhook: {response.status} {response.reason}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"Connection failed: {type(exc).__name__}"
