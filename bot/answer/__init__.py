"""Passages -> an answer: the short answer first, then cited quotes (no Discord here).

question.py reads the question, evidence.py scores the passages' sentences, extract.py finds
short-answer spans in them, compose.py puts the answer together; model.py is what it returns.
"""

from bot.answer.compose import AnswerSettings, compose_answer
from bot.answer.model import NOT_FOUND, Answer, Claim, Generated, ShortAnswer, Source

__all__ = [
    "NOT_FOUND",
    "Answer",
    "AnswerSettings",
    "Claim",
    "Generated",
    "ShortAnswer",
    "Source",
    "compose_answer",
]
