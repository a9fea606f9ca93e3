"""The `footnote` console script."""

from __future__ import annotations

import io
import json
import logging
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from bot.answer import Answer
from bot.config import load_settings
from bot.conversation import ConversationStore, Turn
from bot.feeds_cli import feeds_app
from bot.news import clean_topic, nothing_text, whats_new
from bot.render import answer_text, news_text, passage_text
from bot.service import Footnote
from index.build import EMBEDDING, SENTENCES, BuildReport
from index.errors import DataDirError, FootnoteError, NotFoundError

app = typer.Typer(
    help="Footnote: answers about your news articles, with citations anyone can check.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(feeds_app, name="feeds")
# soft_wrap: an error is one line on stderr even where it is no terminal (rich wraps at 80 there).
err = Console(stderr=True, soft_wrap=True)
CHAT = "chat"  # the terminal's conversation: one per data directory

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Index directory (env FOOTNOTE_DATA_DIR).")
]
CorpusDir = Annotated[
    Path | None, typer.Option("--corpus", help="Articles directory (env FOOTNOTE_CORPUS_DIR).")
]


def _say(text: str) -> None:
    """Plain text to stdout: already wrapped, never re-wrapped or colour-marked."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _note(text: str) -> None:
    """One line on stderr, as written (no markup, never wrapped)."""
    err.print(text, highlight=False, markup=False)


def _service(data_dir: Path | None = None, corpus: Path | None = None) -> Footnote:
    return Footnote(load_settings(data_dir=data_dir, corpus_dir=corpus))


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # trafilatura warns "discarding data: None" for a page without an article, which the
    # "skipped" line already says.
    for noisy in (
        "sentence_transformers",
        "httpx",
        "huggingface_hub",
        "transformers",
        "trafilatura",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)


@app.command()
def index(
    data_dir: DataDir = None,
    corpus: CorpusDir = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed every article.")] = False,
    watch: Annotated[
        bool, typer.Option("--watch", help="Keep running; index corpus changes as they happen.")
    ] = False,
) -> None:
    """Build or update the index from the corpus: only new or changed articles are embedded."""
    service = _service(data_dir, corpus)
    report = _index_once(service, rebuild=rebuild)
    if watch:
        from bot.feeds_cli import live_indexer

        err.print(f"Watching {service.settings.corpus_dir} and the feeds; Ctrl-C stops.")
        live_indexer(service, on_report=_print_report).run()
    elif report.errors and not report.articles_total:
        raise typer.Exit(3)


def _index_once(service: Footnote, *, rebuild: bool) -> BuildReport:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[count]}"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task("reading the articles", total=None, count="")
        shown = [""]

        def progress(done: int, total: int, stage: str = EMBEDDING) -> None:
            count = (
                f"{done:,}/{total:,} {'passages' if stage == EMBEDDING else 'sentences'}"
                if stage in (EMBEDDING, SENTENCES)
                else f"{100 * done // max(total, 1)}% of {total:,} characters"
            )
            if stage != shown[0]:  # a new stage: its own count, speed and time left
                shown[0] = stage
                bar.reset(task, description=stage, count=count)
            bar.update(task, completed=done, total=total, count=count)

        report = service.index(rebuild=rebuild, progress=progress)
    _print_report(report)
    return report


def _print_report(report: BuildReport) -> None:
    if report.full_rebuild_reason:
        err.print(f"Full rebuild: {report.full_rebuild_reason}.")
    for problem in report.errors:
        err.print(f"[yellow]skipped[/] {problem}", markup=True, highlight=False)
    for dup in report.duplicates:
        err.print(f"[dim]duplicate skipped[/] {dup}", markup=True, highlight=False)
    _say(
        f"added {report.added}, updated {report.updated}, removed {report.removed}, "
        f"unchanged {report.unchanged} articles; embedded {report.chunks_embedded} chunks "
        f"({report.chunks_reused} reused) and {report.sentences_embedded} sentences "
        f"({report.sentences_reused} reused); index: {report.articles_total} articles, "
        f"{report.chunks_total} chunks, in {report.seconds:.1f}s"
    )


AsOf = Annotated[
    datetime | None,
    typer.Option(
        "--as-of",
        formats=["%Y-%m-%d"],
        help="The day the question is asked on, YYYY-MM-DD ('this week' is the week before "
        "it; nothing published after it answers). Default: today.",
    ),
]


def _day(as_of: datetime | None) -> date:
    return as_of.date() if as_of is not None else date.today()


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question, in quotes.")],
    k: Annotated[
        int | None, typer.Option("-k", min=1, max=20, help="Passages to draw from.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    as_of: AsOf = None,
    data_dir: DataDir = None,
) -> None:
    """Answer a question from the indexed articles, with numbered citations."""
    service = _service(data_dir)
    answer = service.ask(question, k, as_of=_day(as_of))
    if as_json:
        sys.stdout.write(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        _say(answer_text(answer))
    try:
        service.remember(answer)  # after the answer is out: a read-only data dir loses nothing
    except DataDirError as exc:
        _note(f"{exc}; `footnote show` cannot open this answer's sources.")


@app.command()
def show(
    n: Annotated[int, typer.Argument(help="The source number from the last answer.")],
    data_dir: DataDir = None,
) -> None:
    """Print cited passage N of the last answer in full."""
    answer = _service(data_dir).last_answer()
    source = answer.source(n)
    if source is None:
        raise NotFoundError(f"the last answer has sources 1-{len(answer.sources)}, not {n}")
    _say(passage_text(source))


@app.command()
def sources(data_dir: DataDir = None) -> None:
    """List the indexed articles."""
    service = _service(data_dir)
    for art in service.articles():
        meta = ", ".join(p for p in (art.source, art.published[:10]) if p)
        _say(f"{art.title} — {meta} ({art.chunks} chunks) [{art.id}]")


@app.command()
def status(data_dir: DataDir = None) -> None:
    """Show what the published index holds."""
    st = _service(data_dir).status()
    _say(
        f"{st.articles} articles, {st.chunks} chunks, built {st.built_at} with {st.model} "
        f"on {st.backend} ({st.generation})"
    )


@app.command()
def chat(as_of: AsOf = None, data_dir: DataDir = None) -> None:
    """Ask questions in a terminal session; follow-ups are read in its context (`new` starts
    afresh, `show N` opens a passage, an empty line quits)."""
    service = _service(data_dir)
    service.status()  # fail early if there is no index
    if isinstance(sys.stdin, io.TextIOWrapper):
        # A line that is not UTF-8 reaches the question check (one line, and the session goes
        # on) instead of failing input() itself.
        sys.stdin.reconfigure(errors="surrogateescape")
    conversation = _ChatConversation(service)
    last = None
    while True:
        try:
            line = input("question> ").strip()
        except EOFError:
            break
        if not line or line in {"quit", "exit"}:
            break
        if line == "new":
            conversation.forget()
            continue
        try:
            if line.startswith("show ") and line[5:].strip().isdigit():
                # The last answer may be an earlier session's: it is kept in the data directory.
                last = last or service.last_answer()
                source = last.source(int(line[5:]))
                _say(passage_text(source) if source else "No such source.")
                continue
            last = service.ask(line, history=conversation.turns(), as_of=_day(as_of))
            _say(answer_text(last, show="show N"))
            conversation.add(last)
        except FootnoteError as exc:  # said in one line; the session goes on
            _note(str(exc))


class _ChatConversation:
    """The chat's turns and last answer, kept in the data directory so that the next chat goes on
    from them; where it cannot be written, kept for this session only, which is said once."""

    def __init__(self, service: Footnote) -> None:
        self.service = service
        self._session: list[Turn] = []
        self._store: ConversationStore | None = None
        self._said = False
        try:
            self._store = ConversationStore(
                service.settings.data_dir / "conversations.sqlite3",
                ttl_seconds=service.settings.conversation_minutes * 60,
            )
            if self._store.turns(CHAT):
                err.print("Continuing the conversation from before (`new` starts afresh).")
        except DataDirError as exc:
            self._not_kept(exc)

    def turns(self) -> list[Turn]:
        if self._store is not None:
            try:
                return self._store.turns(CHAT)
            except DataDirError as exc:
                self._not_kept(exc)
        return list(self._session)

    def add(self, answer: Answer) -> None:
        turn = Turn.of(answer)
        self._session.append(turn)
        try:
            if self._store is not None:
                self._store.add(CHAT, turn)
            self.service.remember(answer)
        except DataDirError as exc:
            self._not_kept(exc)

    def forget(self) -> None:
        self._session.clear()
        if self._store is not None:
            try:
                self._store.forget(CHAT)
            except DataDirError as exc:
                self._not_kept(exc)

    def _not_kept(self, exc: DataDirError) -> None:
        if not self._said:
            _note(f"{exc}; this session's questions and answers are not kept.")
            self._said = True
        self._store = None


@app.command()
def news(
    topic: Annotated[str, typer.Argument(help="What the news is about, in quotes.")],
    since: Annotated[
        datetime | None,
        typer.Option(
            "--since", formats=["%Y-%m-%d"], help="Only articles published on or after YYYY-MM-DD."
        ),
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            help="Nothing published after YYYY-MM-DD. Default: today.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=50, help="Articles to list.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the articles as JSON.")] = False,
    data_dir: DataDir = None,
) -> None:
    """What's new about a topic: the newest indexed articles, newest first, leads quoted."""
    topic = clean_topic(topic)
    first = since.date() if since else None
    last = as_of.date() if as_of else date.today()
    items = whats_new(_service(data_dir), topic, since=first, as_of=last, limit=limit)
    if as_json:
        data = {
            "topic": topic,
            "since": first.isoformat() if first else None,
            "as_of": last.isoformat(),
            "items": [item.to_dict() for item in items],
        }
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        _say(news_text(items) if items else nothing_text(topic, first))


@app.command()
def serve(data_dir: DataDir = None, corpus: CorpusDir = None) -> None:
    """Run the Discord bot; corpus changes and feeds are indexed as they come."""
    from bot.discord_app import run_bot
    from bot.feeds_cli import live_background

    settings = load_settings(data_dir=data_dir, corpus_dir=corpus)
    service = Footnote(settings)
    # The corpus watcher and feed poller run beside the bot and stop with it: new articles
    # are indexed and answered from without a restart.
    run_bot(settings, service=service, background=[live_background(service)])


from bot.eval import eval_app  # noqa: E402 - registered after the commands it sits beside
from bot.eval_realtimeqa import realtimeqa  # noqa: E402, F401 - registers `eval realtimeqa`

app.add_typer(eval_app, name="eval")


def main() -> None:
    """Entry point: user mistakes become one line on stderr and an exit code, never a traceback."""
    try:
        # Standalone mode: typer/click turn usage errors into a message and exit code 2.
        app()
    except FootnoteError as exc:
        err.print(f"Error: {exc}", highlight=False, markup=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
