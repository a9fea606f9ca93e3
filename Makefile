# The two commands: `make demo` (install, index corpus/, answer a question) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
QUESTION ?= What three directions did Jack Ma point out?
PYTEST_ARGS ?=

.PHONY: install demo test test-all lint bench eval clean reader

# Train the reader on SQuAD (../shared/train/squad; resumable: run again after a stop) in two
# stages, export it into bot/reader/model/ and print its SQuAD figures. Stage 1 reads SQuAD v1.1
# train (with made unanswerable examples); stage 2 starts from it and reads mostly dev v2.0's
# training share and made unanswerable examples, so "no answer" is learned as well as spans.
READER_EXAMPLES ?= 48000
READER_STAGE2_EXAMPLES ?= 12800
reader: install
	$(BIN)/python -m bot.reader.train --squad ../shared/train/squad --work-dir runs/reader \
		--examples $(READER_EXAMPLES)
	$(BIN)/python -m bot.reader.train --squad ../shared/train/squad --work-dir runs/reader-2 \
		--examples $(READER_STAGE2_EXAMPLES) --lr 5e-5 --made-share 0.5 --train-share 0.1 \
		--dev-v2-repeat 3 --init-from runs/reader/final.pt --export bot/reader/model
	$(BIN)/python -m bot.reader.evaluate --squad ../shared/train/squad --write-card

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/footnote index
	$(BIN)/footnote ask "$(QUESTION)"

test: install lint
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

test-all: install lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check bot index tests benchmarks
	$(BIN)/mypy bot index

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
