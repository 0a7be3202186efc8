"""After one visit the app works with no server at all: a photo is hashed, and sent once back online."""
import json
import re
import threading

from flask_migrate import upgrade
from werkzeug.serving import make_server

from backend import create_app

from .conftest import PHOTOS, new_context, open_app, pick


class Server:
    """The real app on a fixed port that can be stopped and started again, like a network that comes and goes."""

    def __init__(self, app, port=0):
        self.app = app
        self.httpd = make_server("127.0.0.1", port, app, threaded=True)
        self.port = self.httpd.server_port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


def test_hash_offline_then_submit_later(browser, playwright, frontend_dist, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///%s" % (tmp_path / "db.sqlite"), "FRONTEND_DIST": str(frontend_dist)})
    with app.app_context():
        upgrade()
    server = Server(app)
    base = "http://127.0.0.1:%d" % server.port
    context, recorder = new_context(browser, playwright, base, "Pixel 7")
    try:
        page = context.new_page()
        open_app(page)
        # The service worker has cached every file of the build.
        precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", (frontend_dist / "sw.js").read_text()).group(1))
        page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        page.wait_for_function(
            "async (n) => { const keys = (await caches.keys()).filter(k => k.startsWith('takeback-'));"
            " if (keys.length !== 1) return false; const c = await caches.open(keys[0]); return (await c.keys()).length === n; }",
            arg=len(precache),
        )
        server.stop()  # no server: as offline as it gets

        page.reload()
        page.wait_for_function("() => document.documentElement.dataset.worker === 'ready'", timeout=60_000)
        page.click("#start")
        pick(page, [PHOTOS / "tuxpaint__lighthouse.jpg"])
        assert page.locator("#file-list li[data-state=done]").count() == 1
        page.click("#to-review")
        page.click("#submit")
        page.wait_for_function("() => document.getElementById('review-status').textContent.includes('No connection')")
        assert page.locator("#screen-review").is_visible()

        server = Server(app, server.port)  # back online
        page.click("#submit")
        page.wait_for_selector("#screen-receipt:not([hidden])")
        assert page.inner_text("#receipt-pin").strip()
    finally:
        context.close()
        server.stop()
