"""The trained reader: its windows, the shipped model's checks and spans, SQuAD's metric."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.reader import squad
from bot.reader.features import Features
from bot.reader.model import CARD_FILE, MODEL_FILE, SHIPPED_DIR, TOKENIZER_FILE, Reader
from index.errors import ModelError

LONG = " ".join(
    f"Sentence {i} of the harbour report says the ferry {i} left the dock on time."
    for i in range(60)
)


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader()


def test_windows_cover_every_passage_token_after_the_question() -> None:
    features = Features(SHIPPED_DIR / TOKENIZER_FILE, max_tokens=64, stride=16)
    windows = features.windows("Which ferry was late?", LONG)
    assert len(windows) > 5
    covered: set[tuple[int, int]] = set()
    for w in windows:
        assert len(w.ids) <= 64
        assert w.ids[0] == features.cls and w.ids[-1] == features.sep
        assert w.offsets[: w.first_passage_token] == [None] * w.first_passage_token
        covered |= {o for o in w.offsets if o is not None}
    every = features.tokenizer.encode(LONG, add_special_tokens=False).offsets
    assert covered == {(int(a), int(b)) for a, b in every}


def test_the_reader_finds_a_verbatim_span_and_scores_no_answer(reader: Reader) -> None:
    passages = [
        "Trudy Dai, a longtime executive, heads Taobao and Tmall Group, the company said.",
        "The weather in Hangzhou was mild on Tuesday, forecasters said.",
    ]
    spans = reader.read("Who heads Taobao and Tmall Group?", passages)
    assert [s.passage for s in spans] == [0, 1]
    for s in spans:
        assert passages[s.passage][s.start : s.end] == s.text
    assert "Trudy Dai" in spans[0].text
    assert spans[0].margin > spans[1].margin


def test_a_long_passage_is_read_in_windows(reader: Reader) -> None:
    text = LONG + " The Blue Heron ferry was two hours late because of fog."
    (span,) = reader.read("Why was the Blue Heron ferry late?", [text])
    assert text[span.start : span.end] == span.text
    assert "fog" in span.text


def test_an_empty_passage_gets_no_span(reader: Reader) -> None:
    assert reader.read("Who won?", ["   "]) == []


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(SHIPPED_DIR, target)
    return target


def test_a_missing_reader_file_is_named(tmp_path: Path) -> None:
    model = _copy(tmp_path)
    (model / MODEL_FILE).unlink()
    with pytest.raises(ModelError, match=MODEL_FILE):
        Reader(model)


def test_a_damaged_reader_file_is_refused(tmp_path: Path) -> None:
    model = _copy(tmp_path)
    data = bytearray((model / MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (model / MODEL_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="damaged"):
        Reader(model)


def test_an_unreadable_card_is_named(tmp_path: Path) -> None:
    model = _copy(tmp_path)
    (model / CARD_FILE).write_bytes(b"\xff\x00")
    with pytest.raises(ModelError, match=CARD_FILE):
        Reader(model)


def test_the_card_states_data_licence_and_hashes() -> None:
    card = json.loads((SHIPPED_DIR / CARD_FILE).read_text("utf-8"))
    assert "SQuAD" in card["data"] and "CC BY-SA 4.0" in card["licence"]
    assert set(card["files"]) == {MODEL_FILE, TOKENIZER_FILE}
    assert "python -m bot.reader.train" in card["training"]["command"]


def test_squad_metric_normalises_as_the_official_script() -> None:
    assert squad.normalize("The  Eiffel-Tower!") == "eiffeltower"
    assert squad.f1("the cat sat", "a cat sat down") == pytest.approx(2 * 1 * (2 / 3) / (1 + 2 / 3))
    ex = squad.Example("1", "t", "q?", "no", (), -1)
    assert squad.score(ex, "") == (1.0, 1.0)
    assert squad.score(ex, "something") == (0.0, 0.0)


def test_made_unanswerable_examples_never_hold_the_answer() -> None:
    context = (
        "The bridge opened in 1932. It was built by Ada Lowe. Traffic grew for decades. "
        "A second deck was added later."
    )
    other = "The harbour has three piers. Fishing boats moor there in winter."
    examples = [
        squad.Example(
            "a",
            "Harbour",
            "Who built the bridge?",
            context,
            ("Ada Lowe",),
            context.index("Ada Lowe"),
        ),
        squad.Example("b", "Harbour", "How many piers?", other, ("three",), other.index("three")),
    ]
    made = list(squad.made_unanswerable(examples, share=1.0, seed=1))
    assert made and all(not m.answerable for m in made)
    for m in made:
        assert not any(a.lower() in m.context.lower() for a in m.answers)


def test_a_swapped_question_asks_about_a_name_its_paragraph_does_not_hold() -> None:
    bridge = "The Tyne Bridge opened in 1928. It was built by Dorman Long."
    tower = "The Blackpool Tower opened in 1894. Its ballroom seats thousands."
    examples = [
        squad.Example("a", "Tyne", "When did the Tyne Bridge open?", bridge, ("1928",), 26),
        squad.Example("b", "Tower", "When did the Blackpool Tower open?", tower, ("1894",), 30),
        squad.Example("c", "Tower", "How many does it seat?", tower, ("thousands",), 57),
    ]
    assert squad.question_names("When did the Tyne Bridge open?") == ["Tyne Bridge"]
    assert squad.question_names("Who is Beyoncé's sister?") == ["Beyoncé"]
    assert squad.question_names("Which U.S. state?") == ["U.S"]
    swapped = {m.id: m for m in squad.swapped_unanswerable(examples, share=1.0, seed=1)}
    # "c" names nothing, so nothing to swap; the others ask about the other article's name
    assert set(swapped) == {"a-swap", "b-swap"}
    assert swapped["a-swap"].question == "When did the Blackpool Tower open?"
    assert swapped["a-swap"].context == bridge and not swapped["a-swap"].answerable
    assert swapped["b-swap"].question == "When did the Tyne Bridge open?"
    assert list(squad.swapped_unanswerable(examples, share=0.0, seed=1)) == []
