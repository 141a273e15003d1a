"""Greetings and thanks: answered kindly at once, never put in the staff inbox.

A resident who writes 「你好」 or 「谢谢 👍」 asks nothing; filing it as a question
would fill community workers' inbox with messages that need no answer. Only a
message that is nothing but such words counts: 「你好，电梯什么时候修？」 is a
question.
"""

from __future__ import annotations

import re
from enum import StrEnum

from bot.flows.faq import normalise


class SmallTalk(StrEnum):
    GREETING = "greeting"
    THANKS = "thanks"


GREETINGS = {
    "你好", "您好", "你们好", "大家好", "在吗", "在不在", "有人吗", "哈喽", "嗨",
    "早", "早上好", "上午好", "中午好", "下午好", "晚上好",
    "hi", "hello", "hey", "good morning", "good afternoon", "good evening",
}  # fmt: skip
THANKS = {
    "谢谢", "谢谢你", "谢谢您", "谢谢你们", "多谢", "感谢", "非常感谢", "太感谢了", "辛苦了",
    "好的谢谢", "好的", "好", "收到", "知道了", "明白了", "好的收到", "ok", "okay",
    "thanks", "thank you", "thx", "thanks a lot", "got it",
}  # fmt: skip
# Left out when comparing: punctuation, symbols and emoji, and a particle at the end.
SYMBOLS = re.compile(r"[^\w\s]|_")
PARTICLES = re.compile(r"[啊呀啦哦喔呢吧嘛]+$")


def kind(text: str) -> SmallTalk | None:
    """Whether the whole message is a greeting or thanks, else None."""
    plain = PARTICLES.sub("", " ".join(SYMBOLS.sub(" ", normalise(text)).split()))
    if plain in GREETINGS:
        return SmallTalk.GREETING
    if plain in THANKS:
        return SmallTalk.THANKS
    return None
