"""End-to-end fixtures: the real server and database, the built frontend, Debian's Chromium.

One server per session: create_app() on a fresh SQLite file with the schema made by the
migrations, served by werkzeug on a free 127.0.0.1 port in a background thread. Chromium is
/usr/bin/chromium with every host but 127.0.0.1 unresolvable, so nothing could reach another
origin even by mistake; phone profiles come from Playwright's device list.
"""
import base64
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("TAKEBACK_CORPUS", REPO.parent / "shared" / "corpus"))
PHOTOS = CORPUS / "photos"
CHROMIUM = os.environ.get("TAKEBACK_CHROMIUM", "/usr/bin/chromium")
# Chromium 156 starts a WebUI renderer for the address bar's popup even headless: one process
# less without it. Playwright's own disabled features are repeated, as Chromium keeps one
# --disable-features.
PLAYWRIGHT_DISABLED = ("AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,"
                       "HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,ThirdPartyStoragePartitioning,"
                       "AvoidCorsURLLoaderRestartOnRedirect,TcpPortRandomizationWin,OptimizationHints,"
                       "NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch")
CHROMIUM_ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                 "--disable-features=WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup," + PLAYWRIGHT_DISABLED]
PHONES = ["Pixel 7", "iPhone 13"]


@pytest.fixture(scope="session")
def frontend_dist():
    """The build `make frontend` made: the tests never build (nor run npm) themselves, they only
    refuse a missing or stale build (`make -q` asks whether it is up to date, and changes nothing)."""
    dist = REPO / "frontend" / "dist"
    stale = subprocess.run(["make", "-q", "frontend"], cwd=REPO).returncode != 0
    if stale or not (dist / "index.html").is_file():
        pytest.fail("frontend/dist is missing or older than its sources: run `make frontend` (`make test` does)")
    return dist


@pytest.fixture(scope="session")
def server_app(frontend_dist, tmp_path_factory):
    """The app behind `server`, for tests that set server-side state (partners) themselves."""
    from flask_migrate import upgrade

    from backend import create_app

    db_path = tmp_path_factory.mktemp("db") / "takeback.sqlite"
    # Proof of work on, as in production (the page solves it); no quarantine, so tests that
    # read the partner feed see a case at once.
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///%s" % db_path, "FRONTEND_DIST": str(frontend_dist),
                      "ADMISSION": True, "QUARANTINE_SECONDS": 0})
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(scope="session")
def server(server_app):
    from werkzeug.serving import make_server

    app = server_app
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = "http://127.0.0.1:%d" % httpd.server_port
    try:
        yield base
    finally:
        httpd.shutdown()
        thread.join(10)


@pytest.fixture(scope="session")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


# A backstop, should a browser test ever stall: after STALL_SECONDS the run's renderers are
# killed, so the test fails (and is run once more) instead of CI hanging until its limit.
# Stalls seen before 2026-12-07 had one cause, now fixed and guarded (../conftest.py): pytest
# had been switched to real-time scheduling by an encoder, and Chromium and Playwright's driver
# inherited it and starved every other process, this one included. STALL_SECONDS stays well
# above the slowest test (`make test` prints the slowest durations).
# (TAKEBACK_STALL_SECONDS=15 with a page stuck in `while (true) {}` shows the rerun at work.)
STALL_SECONDS = int(os.environ.get("TAKEBACK_STALL_SECONDS", 300))
# What a Playwright call raises once its page's renderer is gone: such a test is run once more.
RENDERER_GONE = ["Target crashed", "Page crashed", "Target page, context or browser has been closed"]


def _our_renderers():
    """The Chromium renderer processes this pytest started (through Playwright's driver)."""
    def parent(pid):
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])

    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                if b"--type=renderer" not in f.read():
                    continue
            pid = ancestor = int(entry)
            while ancestor > 1 and ancestor != os.getpid():
                ancestor = parent(ancestor)
        except (OSError, ValueError, IndexError):
            continue
        if ancestor == os.getpid():
            found.append(pid)
    return found


@pytest.fixture(autouse=True)
def stall_watchdog(request):
    """After STALL_SECONDS, kill this run's Chromium renderers: the stalled call then fails with
    RENDERER_GONE (said on stderr) and the test is run once more (pytest_collection_modifyitems),
    instead of the whole run hanging until CI gives up. SIGALRM, not a timer thread: the signal
    reaches the main thread inside the wait it is stuck in (a timer thread in a stalled run was
    seen never to wake)."""
    if "browser" not in request.fixturenames:
        yield
        return

    def stalled(signum, frame):
        pids = _our_renderers()
        sys.__stderr__.write("\n%s: no end after %d s: killing Chromium renderers %s\n"
                             % (request.node.nodeid, STALL_SECONDS, pids))
        sys.__stderr__.flush()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    previous = signal.signal(signal.SIGALRM, stalled)
    signal.setitimer(signal.ITIMER_REAL, STALL_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def pytest_collection_modifyitems(items):
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.flaky(reruns=1, only_rerun=RENDERER_GONE))


class Recorder:
    """Every request the page, its worker and its service worker make, with bodies."""

    def __init__(self, base):
        self.base = base
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)

    @property
    def foreign(self):
        own = urlsplit(self.base).netloc
        return [r.url for r in self.requests if not r.url.startswith(("blob:", "data:")) and urlsplit(r.url).netloc != own]

    def non_get(self):
        return [r for r in self.requests if r.method != "GET"]


def new_context(browser, playwright, server, device="Pixel 7", **options):
    profile = dict(playwright.devices[device])
    profile.pop("default_browser_type", None)
    profile.update(options)
    context = browser.new_context(base_url=server, **profile)
    context.set_default_timeout(30_000)
    recorder = Recorder(server)
    context.on("request", recorder)
    return context, recorder


@pytest.fixture
def phone(browser, playwright, server, request):
    """A fresh phone context (default Pixel 7, or the test's `device` parameter) and its recorder."""
    device = getattr(request, "param", "Pixel 7")
    context, recorder = new_context(browser, playwright, server, device)
    yield context, recorder
    context.close()


def open_app(page):
    page.goto("/")
    page.wait_for_function("() => document.documentElement.dataset.worker === 'ready'", timeout=60_000)


def corpus_photos():
    if not PHOTOS.is_dir():
        pytest.fail("the test corpus is missing: %s" % PHOTOS)
    return sorted(PHOTOS.iterdir())


def windows(data, count=64, size=32):
    """About `count` windows of `size` bytes spread over the file: raw, and base64 (standard and
    URL-safe) of the window at each of the 3 alignments a base64 text of the file could have."""
    last = max(0, len(data) - size - 2)
    step = max(1, last // max(1, count - 1))
    out = []
    for start in range(0, last + 1, step):
        out.append(data[start:start + size])
        for shift in range(3):
            chunk = data[start + shift:start + shift + 33]  # 33 bytes: 44 base64 characters, no padding
            if len(chunk) == 33:
                out.append(base64.b64encode(chunk))
                out.append(base64.urlsafe_b64encode(chunk))
    return out


def pick(page, paths, settle=True, timeout=120_000):
    """Choose files on the pick screen and wait until every one is hashed or refused."""
    before = page.locator("#file-list li").count()
    page.set_input_files("#files", [str(p) for p in paths])
    if settle:
        from playwright.sync_api import TimeoutError

        total = before + len(paths)
        try:
            page.wait_for_function(
                "(n) => document.querySelectorAll('#file-list li[data-state=done], #file-list li[data-state=error]').length === n",
                arg=total, timeout=timeout,
            )
        except TimeoutError:
            # Say which files were stuck where: a bare timeout tells nothing after a CI run.
            states = page.evaluate("() => [...document.querySelectorAll('#file-list li')].map(li => li.dataset.state)")
            raise AssertionError("files not settled after %d s: states %s" % (timeout // 1000, states)) from None


def review_entries(page):
    """[(file name, record dict)] as the review screen shows them."""
    import json

    raw = page.evaluate(
        "() => [...document.querySelectorAll('#review-list li')].map(li => [li.dataset.name, li.querySelector('pre').textContent])"
    )
    return [(name, json.loads(text)) for name, text in raw]


def api(server, method, path, pin=None, body=None):
    """Call the API from the test itself (not the browser): (status, JSON)."""
    import json
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server + path, data=data, method=method)
    if pin is not None:
        req.add_header("X-Case-PIN", pin)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
