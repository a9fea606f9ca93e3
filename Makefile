# The two commands: `make demo` (install, index corpus/, answer a question) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
QUESTION ?= Who heads Taobao and Tmall?
PYTEST_ARGS ?=

.PHONY: install demo test test-all lint bench eval clean reader

# Train the reader on SQuAD (../shared/train/squad; resumable: run again after a stop), export
# it into bot/reader/model/ and print its SQuAD figures. READER_EXAMPLES sets the budget.
READER_EXAMPLES ?= 24000
reader: install
	$(BIN)/python -m bot.reader.train --squad ../shared/train/squad --work-dir runs/reader \
		--examples $(READER_EXAMPLES) --export bot/reader/model
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
