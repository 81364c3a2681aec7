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

.PHONY: setup data lab test test-notebooks student notebooks zoo bench baselines clean slides dashboard

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

# Unit tests, every notebook under strict nbval, and the student-edition check.
# Results records go to build/ so a test run leaves the committed ones alone, and each row
# is compared with the committed one (labkit.verify: trained numbers by value, within tolerance).
TEST_ENV = OMP_WAIT_POLICY=PASSIVE LABKIT_THREADS=$(THREADS) LABKIT_RESULTS=$(CURDIR)/build/test-results \
	LABKIT_REFERENCE=$(CURDIR)/notebooks/results
test: setup
	$(TEST_ENV) $(BIN)/python -m pytest -n $(WORKERS) --dist loadfile

# The notebooks alone (e.g. again under an emulated CPU: ATEN_CPU_CAPABILITY=default make test-notebooks).
test-notebooks: setup
	$(TEST_ENV) $(BIN)/python -m pytest -n $(WORKERS) --dist loadfile notebooks

# The student edition (solutions stubbed) in build/student/.
student: setup
	$(BIN)/python -m labkit.tools.student

# Re-execute every notebook in place (commit the outputs and notebooks/results/ after). The
# explorer (09) reads every other notebook's record, so it runs last.
notebooks: setup
	@for nb in $$(ls notebooks/[0-9]*.ipynb | grep -v 09_explorer) notebooks/09_explorer.ipynb; do \
	  echo "executing $$nb"; \
	  LABKIT_THREADS=$(THREADS) $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
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
