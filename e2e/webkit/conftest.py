"""WebKit, Safari's engine: Debian's WebKitGTK driven by Selenium through WebKitWebDriver, on an
Xvfb screen of its own.

The app is served by the same Flask app as the Chromium tests, behind a recorder (`Wire`) that
keeps every request as the server received it, body included: WebKit has no DevTools protocol
to watch the network from the browser's side, so the audit reads what actually arrived.

Files reach the page by a drop on the pick screen (WebKitGTK's automation cannot fill an
<input type=file>): the test builds File objects from the file's bytes in the page and
dispatches a real DragEvent; the app's drop handler calls the picker's own `add(files)`.
`e2e/test_drop.py` proves in Chromium that a drop and the picker give the same records.
"""
import base64
import io
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

DRIVER = os.environ.get("TAKEBACK_WEBKITDRIVER", "/usr/bin/WebKitWebDriver")
IPHONE = (390, 844)  # the iPhone 13's CSS viewport


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/webkit/" in str(item.fspath):
            item.add_marker(pytest.mark.webkit)


@pytest.fixture(scope="session")
def display():
    """An Xvfb screen for WebKitGTK (it needs a display even when nothing is looked at)."""
    if not (Path(DRIVER).is_file() and shutil.which("Xvfb")):
        pytest.fail("WebKit tests need %s and Xvfb (make test-packages installs them)" % DRIVER)
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-nolisten", "tcp", "-screen", "0", "1280x1024x24"],
                            pass_fds=[write], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    assert number, "Xvfb did not start"
    yield ":" + number
    xvfb.terminate()
    xvfb.wait(10)


class Wire:
    """WSGI middleware: every request that reaches the server, with its body."""

    def __init__(self, app):
        self.app = app
        self.requests = []

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        self.requests.append({
            "method": environ["REQUEST_METHOD"], "path": environ.get("PATH_INFO", ""),
            "query": environ.get("QUERY_STRING", ""), "body": body,
            "cookie": environ.get("HTTP_COOKIE"),
        })
        return self.app(environ, start_response)


class Served:
    """The app on 127.0.0.1 behind a Wire; stop() and start() again on the same port, like a
    network that comes and goes."""

    def __init__(self, app):
        self.wire = Wire(app)
        self.port = 0
        self.start()

    def start(self):
        from werkzeug.serving import make_server

        self.httpd = make_server("127.0.0.1", self.port, self.wire, threaded=True)
        self.port = self.httpd.server_port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


@pytest.fixture
def served(server_app):
    served = Served(server_app)
    yield served
    served.stop()


class Safari:
    """One WebKitGTK session (a fresh, ephemeral profile) and the helpers the tests share."""

    def __init__(self, display, base):
        from selenium import webdriver
        from selenium.webdriver.webkitgtk.options import Options
        from selenium.webdriver.webkitgtk.service import Service

        env = dict(os.environ, DISPLAY=display)
        self.base = base
        self.driver = webdriver.WebKitGTK(service=Service(executable_path=DRIVER, env=env), options=Options())
        self.driver.set_window_size(*IPHONE)
        self.driver.set_script_timeout(120)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def js_async(self, script, *args):
        """`script` is the body of an async function; its return value comes back."""
        wrapper = "const done = arguments[arguments.length - 1];" \
                  "(async (...args) => { %s })(...Array.from(arguments).slice(0, -1))" \
                  ".then(done, (e) => done({error: String(e)}));" % script
        return self.driver.execute_async_script(wrapper, *args)

    def wait(self, script, *args, timeout=60, what=None):
        """Polls `return <expression>` until it is truthy; returns it."""
        end = time.monotonic() + timeout
        while True:
            value = self.js("return " + script, *args)
            if value:
                return value
            if time.monotonic() > end:
                raise AssertionError("timed out waiting for %s" % (what or script))
            time.sleep(0.1)

    def open(self, path="/"):
        self.driver.get(self.base + path)
        self.wait("document.documentElement.dataset.worker === 'ready'", timeout=90, what="the hashing worker")

    def click(self, selector):
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.CSS_SELECTOR, selector).click()

    def text(self, selector):
        return self.js("return document.querySelector(arguments[0]).textContent", selector)

    def visible(self, selector):
        return self.js("const e = document.querySelector(arguments[0]); return !!e && !e.closest('[hidden]')", selector)

    def drop(self, paths, settle=True, timeout=300):
        """Drops the files on the page as a person drags them from a computer's folder (one
        drop, however many files), then waits until each is hashed or refused."""
        before = self.js("return document.querySelectorAll('#file-list li').length")
        self.js("window.__dropping = []")
        for path in paths:  # one file per call: a whole folder's base64 in one script is too much
            self.js("const [name, data] = arguments;"
                    "window.__dropping.push(new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], name))",
                    Path(path).name, base64.b64encode(Path(path).read_bytes()).decode())
        self.js("""
          const transfer = new DataTransfer();
          for (const file of window.__dropping) transfer.items.add(file);
          delete window.__dropping;
          const target = document.getElementById("screen-pick");
          for (const type of ["dragenter", "dragover", "drop"]) {
            target.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer}));
          }""")
        if settle:
            self.wait("document.querySelectorAll('#file-list li[data-state=done], #file-list li[data-state=error]')"
                      ".length === arguments[0]", before + len(paths), timeout=timeout, what="hashing")

    def states(self):
        return self.js("return [...document.querySelectorAll('#file-list li')].map(li => [li.dataset.name, li.dataset.state,"
                       " li.querySelector('.message').textContent])")

    def review_entries(self):
        import json

        raw = self.js("return [...document.querySelectorAll('#review-list li')]"
                      ".map(li => [li.dataset.name, li.querySelector('pre').textContent])")
        return [(name, json.loads(text)) for name, text in raw]

    def quit(self):
        self.driver.quit()


@pytest.fixture
def safari(display, served):
    browser = Safari(display, served.base)
    yield browser
    browser.quit()
