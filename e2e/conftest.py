"""End-to-end fixtures: the real server and database, the built frontend, Debian's Chromium.

One server per session: create_app() on a fresh SQLite file with the schema made by the
migrations, served by werkzeug on a free 127.0.0.1 port in a background thread. Chromium is
/usr/bin/chromium with every host but 127.0.0.1 unresolvable, so nothing could reach another
origin even by mistake; phone profiles come from Playwright's device list.
"""
import base64
import os
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("TAKEBACK_CORPUS", REPO.parent / "shared" / "corpus"))
PHOTOS = CORPUS / "photos"
CHROMIUM = os.environ.get("TAKEBACK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
PHONES = ["Pixel 7", "iPhone 13"]


@pytest.fixture(scope="session")
def frontend_dist():
    subprocess.run(["make", "-s", "frontend"], cwd=REPO, check=True)
    dist = REPO / "frontend" / "dist"
    assert (dist / "index.html").is_file()
    return dist


@pytest.fixture(scope="session")
def server_app(frontend_dist, tmp_path_factory):
    """The app behind `server`, for tests that set server-side state (partners) themselves."""
    from flask_migrate import upgrade

    from backend import create_app

    db_path = tmp_path_factory.mktemp("db") / "takeback.sqlite"
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///%s" % db_path, "FRONTEND_DIST": str(frontend_dist)})
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
        total = before + len(paths)
        page.wait_for_function(
            "(n) => document.querySelectorAll('#file-list li[data-state=done], #file-list li[data-state=error]').length === n",
            arg=total, timeout=timeout,
        )


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
