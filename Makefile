# Two commands do everything: `make run` and `make test`. Both set up what is missing
# (virtual environment, npm packages, frontend build, Chromium) and are quick when it is there.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps

.PHONY: run serve test check lint setup test-packages bench bench-match bench-shared-index bench-pins bench-flood bench-compare bench-robust bench-video eval-robustness eval-video-robustness chromium clean

setup: $(STAMPS)/venv $(STAMPS)/npm

$(STAMPS)/venv: pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[server,dev]'
	@touch $@

$(STAMPS)/npm: package.json package-lock.json
	@mkdir -p $(STAMPS)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Debian's Chromium for the browser tests (Playwright cannot download its own here).
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The frontend build (frontend/dist): the app, the worker with ../hashing/*.py built in, Pyodide.
.PHONY: frontend bench-web screenshots
FRONTEND_SRC := $(shell find frontend/src frontend/public frontend/tools -type f 2>/dev/null) \
	frontend/index.html frontend/vite.config.ts frontend/tsconfig.json $(wildcard hashing/*.py)
frontend: $(STAMPS)/frontend
$(STAMPS)/frontend: $(STAMPS)/npm package-lock.json $(FRONTEND_SRC)
	node_modules/.bin/tsc -p frontend/tsconfig.json
	node frontend/tools/build.mjs
	@touch $@

# Migrations first (SQLite under instance/ unless DATABASE_URL is set), then serve.
run: setup frontend
	$(VENV)/bin/takeback db upgrade
	$(VENV)/bin/flask --app backend run --host 127.0.0.1 --port 8000

# Production: gunicorn's threaded workers (deploy/gunicorn.conf.py) on the environment's
# DATABASE_URL, PostgreSQL, behind a buffering reverse proxy. Migrations first. docs/OPERATE.md.
serve: setup frontend
	@test -n "$$DATABASE_URL" || { echo "make serve: set DATABASE_URL=postgresql://... (production uses PostgreSQL; \
	\`make run\` is for development)" >&2; exit 1; }
	$(VENV)/bin/takeback db upgrade
	$(VENV)/bin/gunicorn -c deploy/gunicorn.conf.py 'backend:create_app()'

# Debian packages the tests need, in one apt-get when any is missing: Chromium, WebKitGTK's
# WebDriver and Xvfb (Safari's engine, on a virtual screen), ffmpeg (iPhone-like HEVC test clips).
TEST_PACKAGES := chromium:/usr/bin/chromium webkit2gtk-driver:/usr/bin/WebKitWebDriver xvfb:/usr/bin/Xvfb \
	ffmpeg:/usr/bin/ffmpeg
test-packages:
	@missing="$$(for p in $(TEST_PACKAGES); do test -x "$${p#*:}" || echo "$${p%%:*}"; done)"; \
	test -z "$$missing" || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; }

test: setup test-packages frontend lint
	$(PY) -m pytest --durations=25

# The inner loop's tier, about two minutes on 2 cores: lint, then tests/ without the tests marked
# slow and without the browsers (e2e/), on every core. `make test` runs everything, one by one.
check: setup lint
	$(PY) -m pytest -q -n auto -m "not slow" tests

# ruff (pyproject.toml's small config) over the Python; mypy over the typed core (its files list).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Figures, not pass/fail: seconds per PDQ in CPython, Pyodide and the C++ reference.
bench: setup
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m bench.pdq

# Figures, not pass/fail: the PDQ index's queries/s, memory and recall at 100k and 1M hashes.
bench-match: setup
	$(PY) -m bench.match

# Figures, not pass/fail: RSS and PSS per server process, 1 and 4 processes, each building its
# own match index or mapping one shared file (TAKEBACK_INDEX_DIR); build time, query latency.
# 1M photos with one PDQ each, then 100k photos with 64 hashes each (~2.5 minutes, ~7 GB).
# ARGS="--photos 1000000 --records photo --workers 4 --only shared" for more.
bench-shared-index: setup
	$(PY) -m bench.shared_index --photos 1000000 --records pdq --workers 1,4 $(ARGS)
	$(PY) -m bench.shared_index --photos 100000 --records photo --workers 1,4 $(ARGS)

# Guessing PINs against a real server: what guessers get, and what the owner of a case waits.
bench-pins: setup
	$(PY) -m bench.pins $(ARGS)

# Junk cases one client creates per second with proof of work off and on, and a genuine
# submission's latency meanwhile (bench/flood.py). About 40 seconds.
bench-flood: setup
	$(PY) -m bench.flood $(ARGS)

# Figures, not pass/fail: CPython time of the robust hashes on top of PDQ, to enrol and to
# query, at 12 MP, 1920x1440 and 1024x768. ARGS="--against DIR" times another checkout too.
bench-robust: setup
	$(PY) -m bench.robust $(ARGS)

# Figures, not pass/fail: `takeback compare` (3,875 queries x 155 photos) through the index and
# pair by pair on the first 400 queries, with the same output. About 2.5 minutes.
bench-compare: setup
	$(PY) -m bench.compare

# Figures, not pass/fail: the PDQ index at 1M and 10M hashes next to FAISS (IndexBinaryFlat,
# IndexBinaryMultiHash): memory, build time, queries/s, latency, recall. About 5 minutes, ~4 GB.
bench-index: setup
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m bench.index

# Figures, not pass/fail: bytes before the first hash (cold, warm), worker start, a 12 MP JPEG.
bench-web: setup chromium frontend
	$(PY) -m e2e.bench_web

# docs/screenshots/: every screen in English and Arabic on a 360-pixel-wide phone, from the real
# app (LANGS="en ar de" for others).
LANGS ?= en ar
screenshots: setup chromium frontend
	$(PY) -m e2e.screenshots $(LANGS)

# Figures, not pass/fail: seconds of work per minute of video, on the server and in the browser
# (the app in headless Chromium hashing a 2-minute 720p clip). A few minutes.
bench-video: setup chromium frontend
	$(PY) -m e2e.bench_video

# Figures, not pass/fail: how many edited copies of the corpus photos (crops, emoji, stickers,
# captions, rotations, screenshots, filters...) still match, by plain PDQ and by the robust
# hashes; false matches; hash counts, seconds and bytes. Debian's colour emoji font draws the
# emoji. A few minutes; ARGS="--limit 5" for a quick run, ARGS="--json FILE" for every result.
EMOJI_FONT := /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
eval-robustness: setup
	@test -f $(EMOJI_FONT) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-color-emoji; }
	$(PY) -m bench.robustness $(ARGS)

# Figures, not pass/fail: how many edited copies of the corpus videos (crops, mirror, captions,
# stickers, padding, screen recordings, speed, trims, re-encoding...) still match, by vPDQ (PDQ
# only) and by hashing.video_match; false matches among videos and against photos; hashes, bytes,
# seconds. ARGS="--json FILE" for every result; ARGS="--compare OLD.json NEW.json" for two runs.
eval-video-robustness: setup
	@test -f $(EMOJI_FONT) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-color-emoji; }
	$(PY) -m bench.video_robustness $(ARGS)

clean:
	rm -rf $(VENV) node_modules $(STAMPS) frontend/dist instance
