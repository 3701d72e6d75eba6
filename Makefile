# Two commands do everything on a fresh machine (Python 3.10+ with venv):
#   make reproduce   create .venv (pinned) and run the whole workflow on the embedded default config
#   make test        create .venv (pinned) and run the test suite
PYTHON ?= python3
VENV   ?= .venv
CORES  ?= all
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: venv reproduce test report rulegraph lint clean claims-stability

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c requirements/constraints.txt -e '.[workflow,test]'
	touch $(STAMP)

venv: $(STAMP)

reproduce: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)

# rerun the claim-bearing experiments at base seeds 1, 2, at 2 threads and with AVX2 kernels (results/stability/),
# then mark claims whose verdict differs as unstable: make claims-stability EXPERIMENTS="dapr ig_limits"
EXPERIMENTS ?=
VARIANTS    ?= seed0 seed1 seed2 threads2 avx2
claims-stability: $(STAMP)
	$(BIN)/python scripts/claims_stability.py --cores $(if $(filter all,$(CORES)),$$(nproc),$(CORES)) \
		--variants $(VARIANTS) $(if $(EXPERIMENTS),--experiments $(EXPERIMENTS))

report: $(STAMP)
	$(BIN)/snakemake --report results/report.html

rulegraph: $(STAMP)
	$(BIN)/snakemake --rulegraph | dot -Tsvg > docs/rulegraph.svg

lint: $(STAMP)
	$(BIN)/snakemake --lint

test: $(STAMP)
	$(BIN)/python -m pytest -q --durations=15

clean:
	rm -rf results .snakemake
