# The two commands of the README: `make run` and `make test`.
# Each bootstraps .venv first; the bootstrap is a no-op while .venv is newer
# than the files that define it.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# CUDA builds where an NVIDIA GPU is visible, CPU wheels everywhere else.
VARIANT := $(shell nvidia-smi -L 2>/dev/null | grep -q GPU && echo gpu || echo cpu)
STAMP := $(VENV)/.installed-$(VARIANT)
BACKEND ?= jax

export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: run report test docs venv lint bench gpu-check clean

venv: $(STAMP)

$(STAMP): pyproject.toml requirements/$(VARIANT).txt requirements/constraints-$(VARIANT).txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements/constraints-$(VARIANT).txt \
		-r requirements/$(VARIANT).txt -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $@

# The report of a run goes under runs/ (ignored by git): `make run` never
# changes a tracked file. `make report` refreshes the committed reports/
# (and its runs.json summary) from the runs, and README's results tables
# from reports/, for maintainers.
run: $(STAMP)
	KERAS_BACKEND=$(BACKEND) $(PY) -m zoo.train
	KERAS_BACKEND=$(BACKEND) $(PY) -m solutions --runs runs --out runs/report

report: $(STAMP)
	KERAS_BACKEND=$(BACKEND) $(PY) -m solutions --runs runs --out reports
	KERAS_BACKEND=$(BACKEND) $(PY) -m solutions.readme_tables

# `make bench` runs every benchmark on every backend (about 55 minutes on
# 2 cores, 30 of them the precision benchmark's bfloat16 runs) and
# rewrites docs/benchmarks.md's tables from reports/bench/*.json.
bench: $(STAMP)
	for b in jax torch tensorflow; do \
		KERAS_BACKEND=$$b $(PY) -m zoo.bench attention --out reports/bench/attention-$$b.json && \
		KERAS_BACKEND=$$b $(PY) -m zoo.bench lstm --out reports/bench/lstm-$$b.json && \
		KERAS_BACKEND=$$b $(PY) -m zoo.bench seq2seq --out reports/bench/seq2seq-$$b.json && \
		KERAS_BACKEND=$$b $(PY) -m zoo.bench decode --out reports/bench/decode-$$b.json && \
		KERAS_BACKEND=$$b $(PY) -m zoo.bench decode --steps 128 --models transformer \
			--out reports/bench/decode-128-$$b.json && \
		KERAS_BACKEND=$$b $(PY) -m zoo.bench precision --out reports/bench/precision-$$b.json \
			|| exit 1; \
	done
	$(PY) -m zoo.bench.tables

test: $(STAMP)
	$(PY) tests/matrix.py

# The documentation site in build/site/ (open build/site/index.html): the
# guides, the tutorials executed at full size (ZOO_TUTORIAL_SIZE=small for
# seconds), the worked solutions and the API reference; strict: any warning
# fails it. KaTeX comes from the npm registry on the first build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 KERAS_BACKEND=$(BACKEND) $(PY) scripts/build_docs.py

# On a machine with an NVIDIA GPU: CUDA builds, the layer and decoding tests
# and two benchmarks per backend on the GPU, then make run; a summary in
# runs/gpu-check/gpu-check.md.
gpu-check:
	scripts/gpu-check

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
