"""Links that open an article at the quoted text (WICG Text Fragments)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from bot.answer import Answer, Claim, Source
from bot.discord.render import source_field, source_link
from bot.links import quote_link
from bot.render import answer_text, passage_text

URL = "https://herald.example/harbor-bridge"


def directive(link: str) -> str:
    """What follows 'text=' in the link's (last) text directive."""
    return link.rsplit("text=", 1)[1]


@pytest.mark.parametrize(
    ("quote", "encoded"),
    [
        ("The bridge cost 1.2 billion dollars.", "The%20bridge%20cost%201.2%20billion%20dollars."),
        ("a well-known mayor", "a%20well%2Dknown%20mayor"),
        ("Ruiz, the mayor", "Ruiz%2C%20the%20mayor"),
        ("Smith & Sons", "Smith%20%26%20Sons"),
        ("up 5% on #1", "up%205%25%20on%20%231"),
        ("café déjà vu", "caf%C3%A9%20d%C3%A9j%C3%A0%20vu"),
        ("“Quoted,” she said", "%E2%80%9CQuoted%2C%E2%80%9D%20she%20said"),
        ("a=b?c/d:e+f", "a%3Db%3Fc%2Fd%3Ae%2Bf"),
        ("tilde_under~score", "tilde_under~score"),
    ],
)
def test_the_quote_is_percent_encoded_as_the_spec_asks(quote: str, encoded: str) -> None:
    link = quote_link(URL, quote)
    assert link == f"{URL}#:~:text={encoded}"
    assert unquote(directive(link)) == quote


def test_whitespace_is_collapsed_and_never_starts_or_ends_the_directive() -> None:
    link = quote_link(URL, "  The bridge   cost\t1.2 billion.  ")
    assert directive(link) == "The%20bridge%20cost%201.2%20billion."


def test_the_encoded_directive_holds_only_unreserved_characters_and_escapes() -> None:
    text = directive(quote_link(URL, "coûte 1 200 € — “cher”, dit-il & #%[]()!*'"))
    assert all(c.isascii() and (c.isalnum() or c in "%._~") for c in text)
    assert "-" not in text and "," not in text and "&" not in text


LONG = (
    "Mayor Elena Ruiz cut the ribbon at a ceremony attended by about 3,000 residents "
    "on Saturday morning."
)


def test_a_long_quote_becomes_its_first_and_last_five_words() -> None:
    link = quote_link(URL, LONG)
    start, end = directive(link).split(",")
    assert unquote(start) == "Mayor Elena Ruiz cut the"
    assert unquote(end) == "3,000 residents on Saturday morning."


def test_a_quote_of_more_than_ten_short_words_is_long() -> None:
    start, end = directive(quote_link(URL, "a b c d e f g h i j k")).split(",")
    assert (unquote(start), unquote(end)) == ("a b c d e", "g h i j k")
    assert "," not in directive(quote_link(URL, "a b c d e f g h i j"))


def test_a_long_quote_of_few_long_words_splits_between_words_without_overlap() -> None:
    words = ["Supercalifragilisticexpialidocious"] * 2 + ["antidisestablishmentarianism"] * 3
    start, end = directive(quote_link(URL, " ".join(words))).split(",")
    assert unquote(start).split() == words[:2] and unquote(end).split() == words[-2:]


def test_a_single_word_too_long_to_split_is_kept_whole() -> None:
    word = "x" * 120
    assert quote_link(URL, word) == f"{URL}#:~:text={word}"


def test_a_quote_across_paragraphs_starts_and_ends_in_its_first_and_last() -> None:
    # An exact match cannot cross a block boundary; a start,end range can.
    start, end = directive(quote_link(URL, "Held on Friday.\n\nThe bridge opened.")).split(",")
    assert (unquote(start), unquote(end)) == ("Held on Friday.", "The bridge opened.")


def test_a_long_quote_cut_at_words_keeps_the_commas_inside_encoded() -> None:
    quote = "One, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve."
    start, end = directive(quote_link(URL, quote)).split(",")
    assert unquote(start) == "One, two, three, four, five,"
    assert unquote(end) == "eight, nine, ten, eleven, twelve."


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{URL}#section-2", f"{URL}#section-2:~:text=The%20bridge"),
        (f"{URL}#", f"{URL}#:~:text=The%20bridge"),
        (f"{URL}#:~:text=Mayor", f"{URL}#:~:text=Mayor&text=The%20bridge"),
        (f"{URL}#top:~:text=Mayor", f"{URL}#top:~:text=Mayor&text=The%20bridge"),
        (f"{URL}?page=2&s=a", f"{URL}?page=2&s=a#:~:text=The%20bridge"),
        ("HTTP://HERALD.EXAMPLE/a", "HTTP://HERALD.EXAMPLE/a#:~:text=The%20bridge"),
        ("http://herald.example", "http://herald.example#:~:text=The%20bridge"),
    ],
)
def test_a_url_keeps_its_query_and_its_fragment(url: str, expected: str) -> None:
    assert quote_link(url, "The bridge") == expected


@pytest.mark.parametrize(
    ("url", "quote"),
    [
        ("", "The bridge"),
        (URL, ""),
        (URL, " \n\t "),
        ("file:///etc/passwd", "The bridge"),
        ("mailto:desk@herald.example", "The bridge"),
        ("herald.example/harbor-bridge", "The bridge"),
        ("https://", "The bridge"),
        ("ftp://herald.example/a", "The bridge"),
    ],
)
def test_no_link_or_nothing_to_quote_leaves_the_url_unchanged(url: str, quote: str) -> None:
    assert quote_link(url, quote) == url


def test_the_same_input_gives_the_same_link() -> None:
    assert quote_link(URL, LONG) == quote_link(URL, LONG)


# --- Where source links are shown -----------------------------------------------------------


def make_source(url: str = URL, snippet: str = "The bridge cost 1.2 billion dollars.") -> Source:
    passage = f"Before it. {snippet} After it."
    return Source(
        n=1,
        title="Harbor City opens a new bridge",
        source="Harbor City Herald",
        published="2024-03-14",
        url=url,
        article_id="bridge.md",
        chunk_id=0,
        snippet=snippet,
        snippet_start=11,
        snippet_end=11 + len(snippet),
        passage=passage,
        passage_start=0,
        passage_end=len(passage),
    )


AT_THE_QUOTE = f"{URL}#:~:text=The%20bridge%20cost%201.2%20billion%20dollars."


def test_the_cli_links_each_source_and_its_passage_at_the_quote() -> None:
    source = make_source()
    answer = Answer(
        question="How much?", found=True, claims=[Claim(text=source.snippet, n=1)], sources=[source]
    )
    assert f"\n    {AT_THE_QUOTE}\n" in answer_text(answer)
    assert f"\n{AT_THE_QUOTE}\n" in passage_text(source)


def test_discord_links_each_source_at_the_quote() -> None:
    assert source_link(make_source()) == AT_THE_QUOTE
    assert f"<{AT_THE_QUOTE}>" in source_field(make_source())["value"]


def test_discord_keeps_the_plain_url_when_the_quote_link_is_too_long_to_fit() -> None:
    source = make_source(snippet=" ".join(["Überraschungsfeierlichkeiten"] * 10))
    assert source_link(source) is not None and source_link(source, 100) == URL
    value = source_field(source, 160)["value"]
    assert f"<{URL}>" in value and "#:~:" not in value and value.endswith("”")


@pytest.mark.parametrize("url", ["", "file:///etc/passwd", "herald.example/a"])
def test_discord_has_no_link_for_a_source_without_a_web_url(url: str) -> None:
    assert source_link(make_source(url)) is None
    assert "<" not in source_field(make_source(url))["value"]
