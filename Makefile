# The lab's two commands: `make lab` opens JupyterLab, `make test` runs every check.
# Both set up what is missing first (a .venv with the requirements, labkit editable, the
# data) and are fast once set up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.labkit-installed
LAB_ARGS ?=
# pytest-xdist workers for `make test` (each notebook runs in its own worker)
WORKERS ?= 2
# Stored notebook outputs are produced, and checked, at this thread count.
THREADS ?= 2

.PHONY: setup data lab test unit test-browser test-notebooks student notebooks zoo bench baselines clean slides dashboard

setup: $(STAMP) data

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $(STAMP)

data: $(STAMP)
	@$(BIN)/python -m labkit.data

# (as root, e.g. in a container, JupyterLab needs --allow-root)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
lab: setup
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

# Unit tests (the student-edition check among them), the browser tests, every notebook under strict
# nbval. Results records go to build/ so a test run leaves the committed ones alone, and each row
# is compared with the committed one (labkit.verify: trained numbers by value, within tolerance).
TEST_ENV = OMP_WAIT_POLICY=PASSIVE LABKIT_THREADS=$(THREADS) LABKIT_RESULTS=$(CURDIR)/build/test-results \
	LABKIT_REFERENCE=$(CURDIR)/notebooks/results
# Three tiers, in this order, stopping at the first that fails: `make unit` (the unit tests,
# student-edition check included, fail-fast), `make test-browser` (tests/browser: headless Chromium,
# skipped with one line where it is missing), `make test-notebooks` (every notebook under nbval).
# Each tier prints its exit code and seconds; pytest's "no tests collected" (exit 5) fails it.
tier = start=$$(date +%s); $(TEST_ENV) $(BIN)/python -m pytest $(2); rc=$$?; \
	echo "tier $(1): exit $$rc after $$(( $$(date +%s) - start )) s"; \
	if [ $$rc -eq 5 ]; then echo "tier $(1): pytest collected no tests: failing" >&2; fi; exit $$rc
test: setup
	@$(MAKE) --no-print-directory unit && $(MAKE) --no-print-directory test-browser && \
	  $(MAKE) --no-print-directory test-notebooks

# The unit tests alone (no notebooks, no browser), stopping at the first failure.
unit: setup
	@$(call tier,unit,-n $(WORKERS) --dist loadfile -x -m "not browser" tests --ignore=tests/browser)

# The real-browser tests alone (tests/browser, marker `browser`).
test-browser: setup
	@$(call tier,browser,-n $(WORKERS) --dist loadfile -m browser tests/browser)

# The notebooks alone (e.g. again under an emulated CPU: ATEN_CPU_CAPABILITY=default make test-notebooks).
test-notebooks: setup
	@$(call tier,notebooks,-n $(WORKERS) --dist loadfile notebooks)

# The student edition (solutions stubbed) in build/student/.
student: setup
	$(BIN)/python -m labkit.tools.student

# Re-execute every notebook in place (commit the outputs and notebooks/results/ after). The
# explorer (09) reads every other notebook's record, so it runs last. NOTEBOOKS="02 03" runs some.
# The busy-machine guard is strict here (labkit.timing): a timing table whose A/A noise floor is
# wider than the bound stops the run, naming the notebook and the table. Run it with nothing else
# on the machine; on one that is never quiet, TIMING_OVERRIDE="why" lets it finish and writes the
# reason into every record row timed on a busy run.
NOTEBOOKS ?= $(patsubst notebooks/%.ipynb,%,$(filter-out notebooks/09_explorer.ipynb,$(wildcard notebooks/[0-9]*.ipynb))) 09_explorer
TIMING_OVERRIDE ?=
notebooks: setup
	@for stem in $(NOTEBOOKS); do \
	  nb=$$(ls notebooks/$$stem*.ipynb | head -n 1); \
	  echo "executing $$nb"; \
	  LABKIT_THREADS=$(THREADS) LABKIT_TIMING_STRICT=1 LABKIT_TIMING_OVERRIDE="$(TIMING_OVERRIDE)" \
	    LABKIT_NOTEBOOK=$$(basename $$nb .ipynb) $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.record_timing=False --ExecutePreprocessor.timeout=1200 "$$nb" || exit 1; \
	done

# Re-train every checkpoint of the zoo from its recipe (NAME=cnn for one).
NAME ?= all
zoo: setup
	$(BIN)/python -m labkit.zoo train $(NAME)

bench: setup
	LABKIT_THREADS=$(THREADS) $(BIN)/python -m labkit.tools.bench

# The fp32 baselines (eager, folded, channels-last, ONNX Runtime, deployed) and int8, side by side.
baselines: setup
	LABKIT_THREADS=$(THREADS) $(BIN)/python -m labkit.tools.baselines --compile

clean:
	rm -rf build .pytest_cache

# The notebooks as reveal.js slide decks in build/slides/ that open offline (reveal.js, MathJax
# and the rest fetched once with npm beside them); slide metadata: python -m labkit.tools.slides.
slides: setup
	$(BIN)/python -m labkit.tools.slides --export build/slides

# The trade-off explorer as a Voila app (no code shown) on http://127.0.0.1:$(DASHBOARD_PORT)/
DASHBOARD_PORT ?= 8866
dashboard: setup
	LABKIT_THREADS=$(THREADS) $(BIN)/voila dashboards/explorer.ipynb --no-browser --port=$(DASHBOARD_PORT) \
	  --Voila.ip=127.0.0.1 $(LAB_ARGS)
