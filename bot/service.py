"""Wires settings, model, index and answers together for the CLI and the bot."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from bot.answer import Answer, AnswerSettings, compose_answer, when
from bot.answer.generate import Generator, LLMSettings, OnSentence
from bot.answer.read import passage_reader
from bot.config import Settings
from bot.conversation import Turn, resolve
from bot.reader.model import SHIPPED_DIR
from bot.reader.model import Reader as SpanReader
from index.backends import Backend, Reader, Where
from index.backends.files import FilesBackend
from index.build import BuildReport, Progress, build_index
from index.embed import BUNDLED_MODEL, Embedder, SentenceTransformerEmbedder
from index.embed_onnx import OnnxEmbedder
from index.errors import ConfigError, DataDirError, IndexMissingError, NotFoundError
from index.search import Passage, Retriever, SearchSettings, clean_question
from index.store import ArticleRecord, Manifest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Status:
    articles: int
    chunks: int
    built_at: str
    model: str
    backend: str
    generation: str


def make_embedder(settings: Settings) -> Embedder:
    """The configured embedding backend (the ONNX ones run only the bundled model).

    Raises:
        ConfigError: an ONNX backend was asked for with another model.
        ModelError: the model cannot be loaded (or made).
    """
    if settings.embed_backend == "torch":
        return SentenceTransformerEmbedder(
            settings.model, cache_dir=settings.model_cache_dir, threads=settings.torch_threads
        )
    if settings.model != BUNDLED_MODEL:
        raise ConfigError(
            f"FOOTNOTE_EMBED_BACKEND={settings.embed_backend} runs only the bundled "
            f"{BUNDLED_MODEL}; for {settings.model!r} set FOOTNOTE_EMBED_BACKEND=torch"
        )
    return OnnxEmbedder(
        settings.model_cache_dir,
        quantized=settings.embed_backend == "onnx-int8",
        workers=settings.embed_workers,
    )


def make_backend(settings: Settings) -> Backend:
    """Where the index is stored: files in the data directory (default) or Milvus.

    Raises:
        ConfigError: a Milvus setting is invalid.
    """
    if settings.backend == "files":
        return FilesBackend(settings.data_dir)
    from index.backends.milvus import MilvusBackend

    token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
    return MilvusBackend(
        settings.milvus_uri,
        token=token,
        collection=settings.milvus_collection,
        data_dir=settings.data_dir,
        timeout=settings.milvus_timeout,
    )


class Footnote:
    """One corpus + index + model; thread-safe, meant to be shared."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.backend = make_backend(settings)
        self._embedder = embedder
        self._lock = threading.Lock()
        self._retriever: Retriever | None = None
        self._generator: Generator | None = None
        self._reader: SpanReader | None = None

    @property
    def generator(self) -> Generator | None:
        """The configured language model's checked answers; None when none is configured."""
        settings = self.settings
        if not settings.llm_enabled:
            return None
        embedder = self.embedder
        with self._lock:
            if self._generator is None:
                key = settings.llm_api_key
                self._generator = Generator(
                    LLMSettings(
                        base_url=settings.llm_base_url,
                        model=settings.llm_model,
                        api_key=key.get_secret_value() if key else "",
                        timeout=settings.llm_timeout,
                        context_tokens=settings.llm_context_tokens,
                        max_tokens=settings.llm_max_tokens,
                        min_similarity=settings.llm_min_similarity,
                    ),
                    embedder,
                )
            return self._generator

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = make_embedder(self.settings)
            return self._embedder

    @property
    def reader(self) -> SpanReader:
        """The trained reader (loaded once; ModelError when its files are missing or damaged)."""
        with self._lock:
            if self._reader is None:
                self._reader = SpanReader(self.settings.reader_dir or SHIPPED_DIR)
            return self._reader

    @property
    def retriever(self) -> Retriever:
        """The retriever over the published index (the model loads on first use).

        Raises:
            IndexMissingError: no index has been built yet (said before the model loads: the
                first use of the ONNX backend exports the model, about 20 s).
        """
        with self._lock:
            if self._retriever is not None:
                return self._retriever
        if self.backend.current() is None:
            raise IndexMissingError(
                f"no index in {self.backend.describe()} yet: run `footnote index` to build one "
                "from the corpus"
            )
        embedder = self.embedder
        with self._lock:
            if self._retriever is None:
                self._retriever = Retriever(
                    self.settings.data_dir, embedder, SearchSettings(), self.backend
                )
            return self._retriever

    def index(self, *, rebuild: bool = False, progress: Progress | None = None) -> BuildReport:
        """Bring the index up to date with the corpus (blocking; CPU heavy)."""
        return build_index(
            self.settings.corpus_dir,
            self.settings.data_dir,
            self.embedder,
            self.settings.chunking,
            rebuild=rebuild,
            progress=progress,
            backend=self.backend,
        )

    def search(self, question: str, k: int | None = None) -> list[Passage]:
        return self.retriever.search(question, k or self.settings.top_k)

    def ask(
        self,
        question: str,
        k: int | None = None,
        history: Sequence[Turn] = (),
        on_sentence: OnSentence | None = None,
        as_of: date | None = None,
    ) -> Answer:
        """Answer a question from the index (blocking; CPU heavy; and the network when a
        language model is configured).

        Args:
            history: the conversation so far; a follow-up's references to it ("she", "the
                deal") are resolved before retrieval (bot/conversation.py).
            on_sentence: with a language model configured, called with each generated sentence
                that passed the check, as the answer streams in.
            as_of: the day the question is asked on: "this week" means the week before it, and
                nothing published after it answers. None: no date (the index's newest article
                stands for "now").

        Raises:
            QuestionError, IndexMissingError, IndexCorruptError, IndexMismatchError.
        """
        asked = clean_question(question)
        question = resolve(asked, history).text
        answer = self._compose(question, k, as_of)
        if as_of is not None:
            answer = replace(answer, as_of=as_of.isoformat())
        generator = self.generator
        if generator is not None:
            answer = generator.answer(answer, question, history, on_sentence)
        if question == asked:
            return answer
        return replace(answer, question=asked, read_as=question)

    def _compose(self, question: str, k: int | None, as_of: date | None = None) -> Answer:
        retriever = self.retriever
        snapshot = retriever.snapshot()
        query = retriever.read(snapshot, question)
        vectors = retriever.embed_question(query)
        k = k or self.settings.top_k
        outlets = retriever.outlets(snapshot)
        if query.parts or outlets.distinct(query.sources) >= 2:
            k *= 2  # evidence for every part, or every outlet's report, the question asks about
        window = when.window(question, as_of) if as_of is not None else None
        days = None
        if window is not None:
            days = Where(dates=frozenset(d.isoformat() for d in window.reported_on()))
        passages = retriever.rank(snapshot, query, vectors, k, days)
        return compose_answer(
            query,
            passages,
            retriever.sentences,
            passage_reader(self.reader),
            AnswerSettings(
                min_similarity=self.settings.min_similarity,
                min_confidence=self.settings.min_confidence,
                min_margin=self.settings.min_margin,
            ),
            vector=vectors[0],
            weigh=self.word_weights(snapshot),
            outlets=outlets,
            newest=retriever.newest(snapshot),
            article_lead=lambda article_id: retriever.lead(snapshot, article_id, vectors),
            as_of=as_of,
            window=window,
        )

    def word_weights(self, snapshot: Reader) -> Callable[[str], float]:
        """A word's weight in answers: its inverse document frequency in the index."""
        return self.retriever.word_weights(snapshot)

    def status(self) -> Status:
        manifest: Manifest = self.retriever.snapshot().manifest
        return Status(
            articles=manifest.articles,
            chunks=manifest.chunks,
            built_at=manifest.built_at,
            model=manifest.model,
            backend=manifest.backend,
            generation=manifest.generation,
        )

    def articles(self) -> list[ArticleRecord]:
        return self.retriever.snapshot().articles()

    def article(self, article_id: str) -> ArticleRecord:
        record = self.retriever.snapshot().article(article_id)
        if record is None:
            raise NotFoundError(f"no indexed article {article_id!r}")
        return record

    # The CLI's last answer, so `footnote show N` works across invocations and restarts.
    @property
    def _last_answer_path(self) -> Path:
        return self.settings.data_dir / "last-answer.json"

    def remember(self, answer: Answer) -> None:
        """Keep answer as the last one, for `footnote show N`.

        Raises:
            DataDirError: the data directory cannot be written.
        """
        path = self._last_answer_path
        tmp = path.with_suffix(".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(answer.to_dict(), ensure_ascii=False), "utf-8")
            tmp.replace(path)
        except OSError as exc:
            raise DataDirError(f"cannot write {exc.filename or path}: {exc.strerror}") from exc

    def last_answer(self) -> Answer:
        try:
            return Answer.from_dict(json.loads(self._last_answer_path.read_text("utf-8")))
        except FileNotFoundError as exc:
            raise NotFoundError("no answer yet: ask a question first with `footnote ask`") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise NotFoundError("the saved last answer is unreadable; ask again") from exc
