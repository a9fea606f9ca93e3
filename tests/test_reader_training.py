"""Training the reader: the data a run is built from, and the command its card states."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.reader.features import Features
from bot.reader.model import SHIPPED_DIR, TOKENIZER_FILE
from bot.reader.train import Config, build_items, command_of, main


def _article(title: str, n: int) -> dict:
    context = f"The {title} bridge opened in 19{n:02d}. It was built by the {title} company."
    return {
        "title": title,
        "paragraphs": [
            {
                "context": context,
                "qas": [
                    {
                        "id": f"{title}-1",
                        "question": f"When did the {title} bridge open?",
                        "answers": [{"text": f"19{n:02d}", "answer_start": context.index("19")}],
                    },
                    {
                        "id": f"{title}-2",
                        "question": f"Who painted the {title} bridge?",
                        "answers": [],
                        "is_impossible": True,
                    },
                ],
            }
        ],
    }


@pytest.fixture
def squad_dir(tmp_path: Path) -> Path:
    train = {"data": [_article(f"Train{i}", i) for i in range(10)]}
    for a in train["data"]:  # v1.1 train has no unanswerable questions
        a["paragraphs"][0]["qas"] = a["paragraphs"][0]["qas"][:1]
    dev = {"data": [_article(f"Dev{i}", 50 + i) for i in range(10)]}
    (tmp_path / "train-v1.1.json").write_text(json.dumps(train), "utf-8")
    (tmp_path / "dev-v2.0.json").write_text(json.dumps(dev), "utf-8")
    return tmp_path


def test_a_second_stage_can_see_its_dev_share_more_often_and_less_of_train(squad_dir: Path):
    features = Features(SHIPPED_DIR / TOKENIZER_FILE)
    plain = Config(made_share=0.0)
    once = build_items(squad_dir, plain, features)
    # 10 train questions, and 4 dev articles' 8 questions (a share of 0.4)
    assert len(once) == 10 + 8
    twice = build_items(squad_dir, Config(made_share=0.0, dev_v2_repeat=2), features)
    assert len(twice) == 10 + 2 * 8
    assert sum(it.start == 0 for it in twice) == 2 * sum(it.start == 0 for it in once) == 8
    fewer = build_items(squad_dir, Config(made_share=0.0, train_share=0.5), features)
    assert 8 < len(fewer) < len(once)


def test_the_stated_command_names_both_stages_and_their_options():
    first = {"config": {"examples": 48000, "seed": 13}}
    second = {
        "config": {
            "examples": 12800,
            "seed": 13,
            "lr": 5e-05,
            "swap_share": 0.5,
            "dev_v2_repeat": 3,
        },
        "init_from": {"sha256": "ab", "fingerprint": first},
    }
    assert command_of(first) == (
        "python -m bot.reader.train --squad ../shared/train/squad --work-dir runs/reader "
        "--examples 48000"
    )
    assert command_of(second) == (
        f"{command_of(first)} && python -m bot.reader.train --squad ../shared/train/squad "
        "--work-dir runs/reader-2 --examples 12800 --lr 5e-05 --swap-share 0.5 --dev-v2-repeat 3 "
        "--init-from runs/reader/final.pt"
    )


def test_a_second_stage_must_hold_out_the_same_dev_articles(squad_dir: Path, tmp_path: Path):
    import torch

    start = tmp_path / "final.pt"
    fingerprint = {"config": {**Config().__dict__, "seed": 7}, "data_sha256": "x"}
    torch.save({"fingerprint": fingerprint, "model": {}}, start)
    with pytest.raises(SystemExit, match=r"held out other dev v2\.0 articles"):
        main(
            [
                "--squad",
                str(squad_dir),
                "--work-dir",
                str(tmp_path / "run"),
                "--init-from",
                str(start),
            ]
        )
