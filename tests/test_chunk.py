from __future__ import annotations

import itertools

import pytest

from index.articles import Article
from index.chunk import Chunker, ChunkSettings, embed_text
from index.errors import ArticleError, ConfigError
from index.sentences import sentence_spans
from tests.fakes import FakeEmbedder


def _article(text: str, title: str = "A title") -> Article:
    return Article(
        id="a", title=title, source="Wire", url="", published="2024-01-01", text=text, path="a"
    )


LONG = " ".join(
    f"Sentence number {i} tells of the harbour, the bridge and {i * 7} trucks crossing it."
    for i in range(120)
)


def test_sentence_spans_are_exact_and_keep_abbreviations() -> None:
    text = "Mr. Smith went to Washington. He met the U.S. envoy at 3 p.m. today!\nNew line here"
    spans = sentence_spans(text)
    pieces = [text[s.start : s.end] for s in spans]
    assert pieces == [
        "Mr. Smith went to Washington.",
        "He met the U.S. envoy at 3 p.m. today!",
        "New line here",
    ]


def test_titles_before_a_name_do_not_end_a_sentence() -> None:
    text = (
        "She played Lt. Nyota Uhura for years. Capt. Ada Reyes and Sgt. Tom Hale met Col. "
        "Ray Ono, Cmdr. Li Wei and the Rev. Joan Park. They left at noon."
    )
    pieces = [text[s.start : s.end] for s in sentence_spans(text)]
    assert pieces == [
        "She played Lt. Nyota Uhura for years.",
        "Capt. Ada Reyes and Sgt. Tom Hale met Col. Ray Ono, Cmdr. Li Wei and the Rev. Joan Park.",
        "They left at noon.",
    ]


def test_chunks_are_exact_spans_within_token_budget_with_overlap() -> None:
    settings = ChunkSettings(max_tokens=60, overlap_tokens=20)
    chunker = Chunker(settings)
    article = _article(LONG)
    chunks = chunker.chunk(article)
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.text == article.text[chunk.start : chunk.end]
        assert chunker.count(chunk.text) <= 60
        assert chunk.tokens == chunker.count(chunk.text)
    # Consecutive chunks overlap, and together they cover the whole article.
    assert all(b.start < a.end for a, b in itertools.pairwise(chunks))
    assert chunks[0].start == 0 and chunks[-1].end == len(article.text)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_no_embedded_text_exceeds_the_models_own_limit() -> None:
    model = FakeEmbedder(max_tokens=40)
    settings = ChunkSettings(max_tokens=200, overlap_tokens=10)
    chunker = Chunker(settings, model.count_tokens, model.max_tokens)
    article = _article(LONG + " 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24.")
    chunks = chunker.chunk(article)
    for chunk in chunks:
        assert model.count_tokens(embed_text(article, chunk.text, settings)) <= 40
        assert chunk.text == article.text[chunk.start : chunk.end]


def test_a_sentence_longer_than_a_chunk_is_cut_at_words() -> None:
    words = " ".join(f"word{i}" for i in range(500))
    chunker = Chunker(ChunkSettings(max_tokens=50, overlap_tokens=0))
    article = _article(words)
    chunks = chunker.chunk(article)
    assert len(chunks) > 5
    assert all(chunker.count(c.text) <= 50 for c in chunks)
    assert all(c.text == article.text[c.start : c.end] for c in chunks)
    assert " ".join(c.text for c in chunks) == words


def test_a_word_longer_than_a_chunk_is_cut_by_characters() -> None:
    chunker = Chunker(ChunkSettings(max_tokens=20, overlap_tokens=0))
    article = _article("x" * 2000)
    chunks = chunker.chunk(article)
    assert "".join(c.text for c in chunks) == "x" * 2000
    assert all(chunker.count(c.text) <= 20 for c in chunks)


def test_overlong_title_is_an_article_error() -> None:
    model = FakeEmbedder(max_tokens=20)
    chunker = Chunker(ChunkSettings(), model.count_tokens, model.max_tokens)
    with pytest.raises(ArticleError, match="title"):
        chunker.chunk(_article("Short text.", title="word " * 50))


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ConfigError):
        ChunkSettings(max_tokens=100, overlap_tokens=60)
    with pytest.raises(ConfigError, match="encoding"):
        Chunker(ChunkSettings(encoding="nope")).count("x")


def test_chunking_a_long_article_says_how_far_it_got() -> None:
    article = _article(LONG)
    cut: list[int] = []
    chunks = Chunker(ChunkSettings(max_tokens=60, overlap_tokens=10)).chunk(article, cut.append)
    assert len(cut) == len(chunks) > 10  # once per passage: a 50 MB article takes minutes
    assert cut == sorted(cut) and cut[-1] == len(LONG)
