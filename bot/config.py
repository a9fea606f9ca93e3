"""The only module that reads the environment and .env."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.chunk import ChunkSettings
from index.embed import BUNDLED_MODEL
from index.errors import ConfigError


class Settings(BaseSettings):
    """Footnote's settings: FOOTNOTE_* variables, or the same names in a .env file."""

    model_config = SettingsConfigDict(
        env_prefix="FOOTNOTE_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
    )

    data_dir: Path = Field(Path("data"), description="Index, model cache and bot state.")
    corpus_dir: Path = Field(Path("corpus"), description="Where the articles live.")
    model: str = Field(BUNDLED_MODEL, description="Sentence-transformers model name or path.")
    model_cache: Path | None = Field(None, description="Where the bundled model is unpacked.")
    chunk_tokens: int = Field(200, ge=16, le=2048)
    chunk_overlap: int = Field(40, ge=0)
    top_k: int = Field(5, ge=1, le=20, description="Passages an answer is drawn from.")
    min_similarity: float = Field(0.35, ge=-1.0, le=1.0)
    min_confidence: float = Field(
        0.95, ge=0.0, le=3.0, description="Yes/no: answer when the best sentences are this sure."
    )
    reader_dir: Path | None = Field(
        None, description="The reader model's folder (default: the one shipped with Footnote)."
    )
    min_margin: float = Field(
        -2.0,
        ge=-20.0,
        le=20.0,
        description="Answer only when the reader's best span beats 'no answer' by this much.",
    )
    torch_threads: int = Field(
        1, ge=0, description="torch backend: CPU threads for the model; 0: all cores."
    )
    # int8 ONNX: 4x the build speed of torch fp32 and the same MultiHop-RAG dev Hits@10 / MRR@10
    # (within 0.002); torch runs any sentence-transformers model.
    embed_backend: Literal["torch", "onnx-int8", "onnx-fp32"] = Field(
        "onnx-int8", description="What runs the model; an index records it."
    )
    embed_workers: int = Field(
        0, ge=0, description="ONNX backends: threads that embed during a build; 0: one per core."
    )

    conversation_minutes: float = Field(
        60.0, gt=0, description="A conversation is forgotten this long after its last question."
    )
    # Optional generated answers from an OpenAI-compatible endpoint; off unless both are set.
    llm_base_url: str = Field("", description="e.g. http://localhost:11434/v1 (Ollama).")
    llm_model: str = Field("", description="The model name the endpoint serves.")
    llm_api_key: SecretStr | None = Field(None, description="Sent as the bearer token.")
    llm_timeout: float = Field(30.0, gt=0, description="Seconds for the whole generated answer.")
    llm_context_tokens: int = Field(
        4096, ge=512, description="The model's context: prompt budget plus llm_max_tokens."
    )
    llm_max_tokens: int = Field(300, ge=16, description="Longest generated answer, in tokens.")
    llm_min_similarity: float = Field(
        0.5, ge=-1.0, le=1.0, description="How close in meaning a generated sentence must be."
    )

    discord_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("DISCORD_TOKEN", "FOOTNOTE_DISCORD_TOKEN")
    )
    guild_id: int | None = Field(None, description="Sync slash commands to this guild at once.")
    allowed_channels: str = Field("", description="Comma-separated channel ids; empty: all.")
    admin_role: str = Field(
        "", description="Role name or id that may /reindex, besides Manage Server."
    )
    cooldown_seconds: float = Field(10.0, ge=0)
    answer_in_thread: bool = False
    watch_interval: float = Field(2.0, gt=0, description="Seconds between corpus checks.")
    feed_interval: float = Field(900.0, gt=0, description="Seconds between feed polls.")
    add_max_bytes: int = Field(5_000_000, ge=1, description="Largest article file /add takes.")
    allow_private_urls: bool = Field(
        False,
        description="Let /add and feeds fetch pages on loopback, private or link-local addresses.",
    )

    backend: Literal["files", "milvus"] = Field(
        "files", description="Where the index lives: files in data_dir, or Milvus."
    )
    milvus_uri: str = Field(
        "", description="A local .db path (Milvus Lite) or http(s)://host:19530 (a server)."
    )
    milvus_token: SecretStr | None = Field(None, description="user:password or an API key.")
    milvus_collection: str = Field("footnote", description="The alias readers follow.")
    milvus_timeout: float = Field(10.0, gt=0, description="Seconds to wait for Milvus to answer.")
    shards: int = Field(
        0, ge=0, description="Discord shards in all (AutoShardedBot); 0: one unsharded bot."
    )
    shard_ids: str = Field("", description="Comma-separated shards this process runs; empty: all.")

    @field_validator("allowed_channels")
    @classmethod
    def _channel_ids(cls, value: str) -> str:
        for part in value.replace(" ", "").split(","):
            if part and not part.isdigit():
                raise ValueError(f"channel ids are numbers, got {part!r}")
        return value

    @field_validator("shard_ids")
    @classmethod
    def _shard_ids(cls, value: str) -> str:
        for part in value.replace(" ", "").split(","):
            if part and not part.isdigit():
                raise ValueError(f"shard ids are numbers, got {part!r}")
        return value

    @field_validator("milvus_uri")
    @classmethod
    def _milvus_uri(cls, value: str) -> str:
        if value and not (value.endswith(".db") or re.match(r"(https?|tcp|unix)://", value)):
            raise ValueError(
                "a Milvus Lite file path ending in .db, or http(s)://host:port of a server"
            )
        return value

    @model_validator(mode="after")
    def _milvus_needs_uri(self) -> Settings:
        ids = self.shard_id_list
        if ids and not self.shards:
            raise ValueError("FOOTNOTE_SHARD_IDS needs FOOTNOTE_SHARDS (the shards in all)")
        if any(i >= self.shards for i in ids):
            raise ValueError(f"FOOTNOTE_SHARD_IDS must be below FOOTNOTE_SHARDS ({self.shards})")
        if self.backend == "milvus" and not self.milvus_uri:
            raise ValueError(
                "FOOTNOTE_BACKEND=milvus needs FOOTNOTE_MILVUS_URI (a .db path or http(s)://...)"
            )
        return self

    @property
    def shard_id_list(self) -> list[int]:
        return sorted({int(p) for p in self.shard_ids.replace(" ", "").split(",") if p})

    @property
    def allowed_channel_ids(self) -> frozenset[int]:
        return frozenset(int(p) for p in self.allowed_channels.replace(" ", "").split(",") if p)

    @property
    def chunking(self) -> ChunkSettings:
        return ChunkSettings(max_tokens=self.chunk_tokens, overlap_tokens=self.chunk_overlap)

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    @property
    def model_cache_dir(self) -> Path:
        return self.model_cache or self.data_dir / "models"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment / .env, with overrides from the command line.

    Raises:
        ConfigError: a value is invalid (the message names the variable).
    """
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
        settings.chunking  # noqa: B018 - validates chunk_overlap against chunk_tokens
    except ValidationError as exc:
        problems = "; ".join(
            f"FOOTNOTE_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            if err["loc"]
            else str(err["msg"]).removeprefix("Value error, ")
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc
    return settings
