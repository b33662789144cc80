# Two commands (see README): `make train` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Debian packages the tests need besides Python (git-lfs: the weekly-workflow test's commits;
# chromium: the report's layout test renders it in headless Chromium).
SYSTEM_PACKAGES := git-lfs chromium

.PHONY: train test bench docs mutants screenshots system-packages clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Exit 3 is the quality gate's verdict (candidate kept, not promoted), not a failed job.
train: $(STAMP)
	@$(PY) scripts/ml/create_ml_models.py --source sample --verbose; code=$$?; \
	if [ $$code -eq 3 ]; then echo "make train: done; the gate rejected the set (reasons above)"; \
	exit 0; fi; exit $$code

system-packages:
	@.ci/install-system-packages $(SYSTEM_PACKAGES)

# worksteal: an idle worker takes queued tests from the busy one, so the long subprocess tests
# at the end do not run on one core while the other waits.
test: $(STAMP) system-packages
	$(PY) -m ruff check src scripts tests bench
	$(PY) -m pytest -n 2 --dist worksteal -q

# Every benchmark JSON the docs quote, then the docs re-rendered from them (an hour or two: run
# it on a quiet machine). QUICK=1: every bench at a tiny size into a scratch dir, to see they run.
bench: $(STAMP)
ifdef QUICK
	@out=$$(mktemp -d); $(PY) bench/all.py --quick --out "$$out" && echo "quick JSONs in $$out"
else
	$(PY) bench/all.py
	$(PY) bench/render_docs.py
endif

# make train's run recorded again (bench/sample_results.json), then README.md and docs/ rendered
# from every JSON under bench/ (tests/unit/docs/ fails when they differ).
docs: $(STAMP)
	$(PY) bench/sample_run.py
	$(PY) bench/render_docs.py

# Not part of `make test`: plants known bugs one at a time and reports which the suite catches.
mutants: $(STAMP)
	$(PY) tests/mutants.py

# The README's report screenshots (docs/report-390.png, docs/report-1400.png): the browser test
# shoots the report of a `make train`-like run, trained into a temporary models dir.
screenshots: $(STAMP) system-packages
	@models=$$(mktemp -d); trap 'rm -rf "$$models"' EXIT; \
	$(PY) scripts/ml/create_ml_models.py --source sample --models-dir "$$models" >/dev/null; \
	code=$$?; [ $$code -eq 0 ] || [ $$code -eq 3 ] || exit $$code; \
	report=$$(ls "$$models"/training/training_report.html \
	  "$$models"/candidates/*/training/training_report.html 2>/dev/null | head -n 1); \
	[ -n "$$report" ] || { echo "make screenshots: the run wrote no report" >&2; exit 1; }; \
	REPORT_HTML="$$report" REPORT_SCREENSHOTS=docs \
	  $(PY) -m pytest -q -p no:cacheprovider tests/unit/reports/test_report_in_browser.py

clean-venv:
	rm -rf $(VENV)
