"""Generated answers end to end through Footnote.ask, against a loopback fake OpenAI-compatible
server: every case ends in checked sentences or the extractive answer with a note."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from bot.answer import Answer, Generated
from bot.answer.check import check
from bot.config import Settings
from bot.conversation import Turn
from bot.service import Footnote
from tests.fake_llm import FakeLLM, Malformed, Reply, Stall, Status
from tests.fakes import FakeEmbedder

BRIDGE = "How much did the bridge cost?"
KEY = "sk-test-secret"


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    fake = FakeLLM().start()
    yield fake
    fake.stop()


@pytest.fixture
def extractive(service: Footnote) -> Answer:
    """The answer without a model (the fallback, and the numbering of the passages)."""
    return service.ask(BRIDGE)


@pytest.fixture
def n(extractive: Answer) -> int:
    """The number of the bridge passage."""
    return next(s.n for s in extractive.sources if "bridge" in s.title.lower())


def with_model(settings: Settings, base_url: str, **changes: object) -> Footnote:
    settings = settings.model_copy(
        update={
            "llm_base_url": base_url,
            "llm_model": "fake-model",
            "llm_api_key": SecretStr(KEY),
            "llm_timeout": 2.0,
            "llm_min_similarity": 0.2,  # the fake embedder's cosines run low
            **changes,
        }
    )
    footnote = Footnote(settings, embedder=FakeEmbedder())
    return footnote


def ask(footnote: Footnote, question: str = BRIDGE, **kwargs: object) -> tuple[Answer, list]:  # type: ignore[type-arg]
    streamed: list[Generated] = []
    answer = footnote.ask(question, on_sentence=streamed.append, **kwargs)  # type: ignore[arg-type]
    # Never an unchecked sentence: whatever is shown or streamed passes the check again.
    passages = {s.n: f"{s.label()}\n{s.passage}" for s in answer.sources}
    for sentence in [*answer.generated, *streamed]:
        assert check(sentence, passages, FakeEmbedder(), 0.2).ok, sentence
    # What streamed is what is shown, unless it broke off and the extractive answer replaced it.
    assert streamed == answer.generated or (answer.note and not answer.generated)
    return answer, streamed


def test_a_good_answer_is_shown_checked_with_its_quotes(
    settings: Settings, service: Footnote, llm: FakeLLM, extractive: Answer, n: int
) -> None:
    llm.script = [Reply(f"The bridge cost 1.2 billion dollars [{n}]. It spans 1,400 metres [{n}].")]
    answer, streamed = ask(with_model(settings, llm.base_url))
    assert (
        streamed
        == answer.generated
        == [
            Generated("The bridge cost 1.2 billion dollars.", (n,)),
            Generated("It spans 1,400 metres.", (n,)),
        ]
    )
    assert answer.text.startswith(f"The bridge cost 1.2 billion dollars. [{n}]")
    assert answer.dropped == 0 and answer.note == ""
    assert answer.claims == extractive.claims and answer.sources == extractive.sources
    request = llm.requests[0]
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    assert request["body"]["model"] == "fake-model" and request["body"]["stream"] is True
    prompt = request["body"]["messages"][-1]["content"]
    assert f"[{n}] Harbor City" in prompt and prompt.rstrip().endswith(f"Question: {BRIDGE}")


def test_failing_sentences_are_dropped_and_counted(
    settings: Settings, service: Footnote, llm: FakeLLM, n: int
) -> None:
    llm.script = [
        Reply(
            f"The bridge cost 1.2 billion dollars [{n}]. It was the longest bridge in Europe. "
            f"Mayor Elena Ruiz opened it [9]. Governor Tom Hale opened it [{n}]. "
            f"It cost 4.5 billion dollars [{n}]. It opened in 2021 [{n}]."
        )
    ]
    answer, _ = ask(with_model(settings, llm.base_url))
    assert answer.generated == [Generated("The bridge cost 1.2 billion dollars.", (n,))]
    assert answer.dropped == 5 and answer.note == ""
    assert answer.to_dict()["dropped"] == 5


@pytest.mark.parametrize(
    ("step", "note"),
    [
        (Reply("The bridge was paid for by Atlantis [1]. It cost 9 trillion euros [1]."), "check"),
        (Reply("It cost a lot, as everyone knows."), "check"),
        (Reply(""), "no answer"),
        (Malformed(), "could not be read"),
        (Status(429), "rate-limited"),
        (Status(500), "error (HTTP 500)"),
        (Stall(5.0), "in time"),
        (Stall(5.0, "The bridge cost 1.2 billion dollars [1]. It"), "in time"),
    ],
)
def test_every_failure_falls_back_to_the_extractive_answer_with_a_note(
    settings: Settings,
    service: Footnote,
    llm: FakeLLM,
    extractive: Answer,
    step: Reply | Malformed | Status | Stall,
    note: str,
) -> None:
    llm.script = [step]
    answer, _ = ask(with_model(settings, llm.base_url, llm_timeout=1.0))
    assert answer.generated == [] and note in answer.note
    assert "quoted from the articles" in answer.note
    assert answer.text == extractive.text and answer.sources == extractive.sources


def test_an_unreachable_model_falls_back(
    settings: Settings, service: Footnote, extractive: Answer
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    answer, _ = ask(with_model(settings, f"http://127.0.0.1:{port}/v1"))
    assert "could not be reached" in answer.note and answer.text == extractive.text


def test_without_settings_nothing_changes(
    settings: Settings, service: Footnote, llm: FakeLLM, extractive: Answer
) -> None:
    footnote = Footnote(settings, embedder=FakeEmbedder())
    assert footnote.generator is None
    answer = footnote.ask(BRIDGE)
    assert answer == extractive and not llm.requests


def test_the_prompt_carries_the_conversation_and_fits_the_budget(
    settings: Settings, service: Footnote, llm: FakeLLM, n: int
) -> None:
    llm.script = [Reply(f"The bridge cost 1.2 billion dollars [{n}].")]
    footnote = with_model(settings, llm.base_url, llm_context_tokens=600, llm_max_tokens=100)
    history = [Turn("Who opened the bridge?", "Who opened the bridge?", "Elena Ruiz", "person")]
    ask(footnote, history=history)
    prompt = llm.requests[0]["body"]["messages"][-1]["content"]
    assert "Q: Who opened the bridge?\nA: Elena Ruiz" in prompt
    generator = footnote.generator
    assert generator is not None
    tokens = sum(generator._tokens(m["content"]) for m in llm.requests[0]["body"]["messages"])
    assert tokens <= 600 - 100


def test_the_api_key_is_never_logged(
    settings: Settings, service: Footnote, llm: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    llm.script = [Status(401)]
    with caplog.at_level(logging.DEBUG):
        answer, _ = ask(with_model(settings, llm.base_url))
    assert "HTTP 401" in answer.note
    assert KEY not in caplog.text and KEY not in repr(settings)


def test_the_cli_shows_the_checked_answer_and_the_quotes_or_the_note(
    settings: Settings, service: Footnote, llm: FakeLLM, n: int
) -> None:
    from bot.render import answer_text

    llm.script = [
        Reply(f"The bridge cost 1.2 billion dollars [{n}]. It cost 4 euros [{n}]."),
        Status(429),
    ]
    footnote = with_model(settings, llm.base_url)
    shown = answer_text(footnote.ask(BRIDGE))
    assert f"Answer: The bridge cost 1.2 billion dollars. [{n}]\n" in shown
    assert "4 euros" not in shown and "Supporting quotes:" in shown
    shown = answer_text(footnote.ask(BRIDGE))
    assert shown.startswith("Note: The model is rate-limited (HTTP 429); showing the answer")


def test_a_question_the_articles_do_not_answer_is_not_sent_to_the_model(
    settings: Settings, service: Footnote, llm: FakeLLM
) -> None:
    llm.script = [Reply("The capital of Peru is Lima [1].")]
    answer = with_model(settings, llm.base_url).ask("What is the capital of Peru?")
    assert not answer.found and not answer.generated and not llm.requests
