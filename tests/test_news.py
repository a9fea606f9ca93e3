"""What's new about a topic: the newest indexed articles, each with its lead quoted verbatim."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

import bot.service
from bot import cli
from bot.config import Settings
from bot.links import quote_link
from bot.news import NewsItem, nothing_text, whats_new
from bot.service import Footnote
from index.errors import IndexMissingError, QuestionError
from tests.fakes import FakeEmbedder

# Invented articles about the harbour ferry (and one about chess), published on several days.
ARTICLES = {
    "ferry-jan.md": (
        "Harbor ferry fares rise for the new year",
        "Harbor City Herald",
        "2024-01-10",
        "By Jane Doe\n\nFares\n\n"
        "Harbor ferry fares rose by ten percent on Monday, the ferry operator said.\n\n"
        "Commuters on the harbor ferry said the rise was unfair.",
    ),
    "ferry-mar.md": (
        "Harbor ferry adds a night service",
        "Valley Gazette",
        "2024-03-20",
        "Sign up for the Valley Gazette's morning newsletter.\n\n"
        "Harbor ferry boats will run until midnight from April, the harbor authority said.\n\n"
        "The night ferry stops at four piers.",
    ),
    "ferry-may.md": (
        "New electric harbor ferry launched",
        "Harbor City Herald",
        "2024-05-02T08:30:00+00:00",
        "What is new?\n\n"
        "The first electric harbor ferry was launched on Thursday, the harbor authority said. "
        "It carries 300 passengers.\n\nThe ferry charges at the main pier.",
    ),
    "ferry-jul.md": (
        "Harbor ferry strike called off",
        "Harbor City Herald",
        "2024-07-01",
        "A harbor ferry strike planned for July was called off after a late pay deal.",
    ),
    "ferry-undated.md": (
        "Harbor ferry history in pictures",
        "Valley Gazette",
        "",
        "The harbor ferry first crossed the bay in 1901, carrying twelve passengers a trip.",
    ),
    "chess.md": (
        "Teenager wins the chess championship",
        "Daily Pawn",
        "2024-04-01",
        "Sixteen-year-old Priya Nandakumar won the national chess championship on Sunday.",
    ),
}
TOPIC = "harbor ferry"
AS_OF = date(2024, 6, 1)


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name, (title, outlet, published, body) in ARTICLES.items():
        when = f"published_at: {published}\n" if published else ""
        (folder / name).write_text(
            f'---\ntitle: "{title}"\nsource: "{outlet}"\n{when}'
            f'url: "https://news.example/{name[:-3]}"\n---\n\n{body}\n',
            "utf-8",
        )
    return folder


@pytest.fixture
def ferries(tmp_path: Path) -> Footnote:
    settings = Settings(
        data_dir=tmp_path / "data",
        corpus_dir=write_corpus(tmp_path / "corpus"),
        min_similarity=0.2,  # the fake embedder's cosines run lower than a real model's
    )
    service = Footnote(settings, embedder=FakeEmbedder())
    service.index()
    return service


def titles(items: list[NewsItem]) -> list[str]:
    return [item.source.title for item in items]


def test_newest_first_up_to_the_as_of_date(ferries: Footnote) -> None:
    items = whats_new(ferries, TOPIC, since=None, as_of=AS_OF, limit=10)
    assert titles(items) == [
        "New electric harbor ferry launched",  # 2 May
        "Harbor ferry adds a night service",  # 20 March
        "Harbor ferry fares rise for the new year",  # 10 January
        "Harbor ferry history in pictures",  # undated: last
    ]
    assert [item.source.n for item in items] == [1, 2, 3, 4]
    assert [item.source.date for item in items] == ["2024-05-02", "2024-03-20", "2024-01-10", ""]


def test_nothing_published_after_the_as_of_date_and_today_by_default(ferries: Footnote) -> None:
    later = whats_new(ferries, TOPIC, since=None, as_of=date(2024, 7, 1), limit=10)
    assert titles(later)[0] == "Harbor ferry strike called off"
    today = whats_new(ferries, TOPIC, since=None, as_of=None, limit=10)
    assert titles(today) == titles(later)


def test_since_keeps_only_articles_published_on_or_after_it(ferries: Footnote) -> None:
    items = whats_new(ferries, TOPIC, since=date(2024, 3, 20), as_of=AS_OF, limit=10)
    # Undated articles cannot be shown to be recent: left out when a since date is given.
    assert titles(items) == [
        "New electric harbor ferry launched",
        "Harbor ferry adds a night service",
    ]


def test_limit_keeps_the_newest(ferries: Footnote) -> None:
    items = whats_new(ferries, TOPIC, since=None, as_of=AS_OF, limit=2)
    assert titles(items) == [
        "New electric harbor ferry launched",
        "Harbor ferry adds a night service",
    ]


def test_each_quote_is_the_lead_verbatim_at_its_offsets(ferries: Footnote) -> None:
    items = whats_new(ferries, TOPIC, since=None, as_of=AS_OF, limit=10)
    for item in items:
        source = item.source
        text = ferries.article(source.article_id).text
        assert text[source.snippet_start : source.snippet_end] == source.snippet
        assert text[source.passage_start : source.passage_end] == source.passage
        assert source.passage_start <= source.snippet_start <= source.snippet_end
    leads = {item.source.title: item.source.snippet for item in items}
    # The byline and the one-word heading are skipped; so are a question and a sign-up line.
    assert leads["Harbor ferry fares rise for the new year"] == (
        "Harbor ferry fares rose by ten percent on Monday, the ferry operator said."
    )
    assert leads["Harbor ferry adds a night service"] == (
        "Harbor ferry boats will run until midnight from April, the harbor authority said."
    )
    assert leads["New electric harbor ferry launched"] == (
        "The first electric harbor ferry was launched on Thursday, the harbor authority said."
    )


def test_items_carry_metadata_and_a_link_to_the_quote(ferries: Footnote) -> None:
    [item] = whats_new(ferries, TOPIC, since=date(2024, 5, 1), as_of=AS_OF, limit=10)
    source = item.source
    assert (source.title, source.source, source.date) == (
        "New electric harbor ferry launched",
        "Harbor City Herald",
        "2024-05-02",
    )
    assert item.link == quote_link("https://news.example/ferry-may", source.snippet)
    assert item.link.startswith("https://news.example/ferry-may#:~:text=")
    data = item.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["quote"] == source.snippet and data["n"] == 1 and data["date"] == "2024-05-02"
    assert data["link"] == item.link


def test_an_unrelated_topic_finds_nothing(ferries: Footnote) -> None:
    assert whats_new(ferries, "volcano eruption", since=None, as_of=AS_OF, limit=10) == []
    # A topic word found in one article's passages is not enough when that article is about
    # something else and the topic's other (rarer) words are missing.
    assert whats_new(ferries, "chess ferry tournament", since=None, as_of=AS_OF, limit=10) == []


def test_nothing_text_names_the_topic_and_the_window() -> None:
    assert nothing_text("volcano", None) == "Nothing indexed about volcano."
    assert (
        nothing_text("volcano", date(2024, 3, 1))
        == "Nothing indexed about volcano since 2024-03-01."
    )


@pytest.mark.parametrize("topic", ["", "   ", "x" * 201])
def test_a_topic_must_be_given_and_short(ferries: Footnote, topic: str) -> None:
    with pytest.raises(QuestionError):
        whats_new(ferries, topic, since=None, as_of=AS_OF, limit=10)


def test_since_after_as_of_is_a_mistake(ferries: Footnote) -> None:
    with pytest.raises(QuestionError, match="after"):
        whats_new(ferries, TOPIC, since=date(2024, 6, 2), as_of=AS_OF, limit=10)


def test_no_index_is_said_as_ask_says_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus")
    with pytest.raises(IndexMissingError, match="footnote index"):
        whats_new(
            Footnote(settings, embedder=FakeEmbedder()), TOPIC, since=None, as_of=None, limit=5
        )


# --- footnote news ------------------------------------------------------------------------------


@pytest.fixture
def news_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ferries: Footnote
) -> Callable[..., tuple[int, str, str]]:
    """`footnote news ...` in-process over the ferries' index (the fake embedder)."""
    monkeypatch.setattr(bot.service, "make_embedder", lambda settings: FakeEmbedder())
    monkeypatch.setenv("FOOTNOTE_DATA_DIR", str(ferries.settings.data_dir))
    monkeypatch.setenv("FOOTNOTE_CORPUS_DIR", str(ferries.settings.corpus_dir))
    monkeypatch.setenv("FOOTNOTE_MIN_SIMILARITY", "0.2")

    def invoke(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["footnote", "news", *args])
        try:
            cli.main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def test_cli_lists_the_newest_with_headline_outlet_date_link_and_lead(news_cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = news_cli(TOPIC, "--as-of", "2024-06-01", "--limit", "2")
    assert code == 0 and not err
    lines = out.splitlines()
    assert lines[0] == "[1] New electric harbor ferry launched — Harbor City Herald, 2024-05-02"
    assert lines[1].strip().startswith("https://news.example/ferry-may#:~:text=")
    assert lines[2].strip() == (
        "“The first electric harbor ferry was launched on Thursday, the harbor authority said.”"
    )
    assert "[2] Harbor ferry adds a night service — Valley Gazette, 2024-03-20" in lines
    assert "[3]" not in out


def test_cli_since_and_json(news_cli, ferries: Footnote) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = news_cli(TOPIC, "--since", "2024-03-01", "--as-of", "2024-06-01", "--json")
    data = json.loads(out)
    assert code == 0 and (data["topic"], data["since"], data["as_of"]) == (
        TOPIC,
        "2024-03-01",
        "2024-06-01",
    )
    assert [item["date"] for item in data["items"]] == ["2024-05-02", "2024-03-20"]
    for item in data["items"]:
        source = item["source"]
        text = ferries.article(source["article_id"]).text
        assert text[source["snippet_start"] : source["snippet_end"]] == item["quote"]


def test_cli_says_plainly_when_nothing_is_about_the_topic(news_cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = news_cli("volcano eruption", "--since", "2024-01-01")
    assert code == 0 and out.strip() == "Nothing indexed about volcano eruption since 2024-01-01."


def test_cli_mistakes_are_one_line(
    news_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    code, out, err = news_cli("  ")
    assert (
        code == 2
        and not out
        and err.startswith("Error: Please name a topic")
        and err.count("\n") == 1
    )
    code, _, err = news_cli(TOPIC, "--since", "2024-13-01")
    assert code == 2 and "2024-13-01" in err
    monkeypatch.setenv("FOOTNOTE_DATA_DIR", str(tmp_path / "empty"))
    code, out, err = news_cli(TOPIC)
    assert code == 3 and not out and err.startswith("Error: no index") and err.count("\n") == 1
