"""In WebKit: the policy stops an injected script from sending data out; after one visit the app
works with no server; and the only request that carries a body is the case POST, with none of a
file's bytes in it (read from what reached the server: WebKit has no DevTools to watch)."""
import json
import re

from ..conftest import PHOTOS, windows
from ..test_csp import INJECTED, Catcher, other_origin  # noqa: F401 (a fixture)
from ..test_network import ALLOWED_GET, AUDIT_PHOTOS


def run_injected(safari, other):
    return safari.js_async("return await (%s)(args[0]);" % INJECTED, other)


def test_injected_script_cannot_send_data_elsewhere(safari, other_origin):  # noqa: F811
    safari.open()
    outcome = run_injected(safari, other_origin)
    assert outcome["fetch"] == "blocked" and outcome["ws"] == "blocked", outcome
    assert outcome["inlineScript"] == "blocked", outcome
    assert {"connect-src", "img-src"} <= set(outcome["violations"]), outcome
    safari.js_async("await new Promise((r) => setTimeout(r, 500)); return true;")
    assert Catcher.hits == []  # the proof: nothing reached the other origin


def test_the_same_script_reaches_the_other_origin_without_the_policy(safari, other_origin):  # noqa: F811
    """The control: on a page with no policy (the other origin's own), WebKit does send it."""
    safari.driver.get("http://%s/blank" % other_origin)
    outcome = run_injected(safari, other_origin)
    assert outcome["fetch"] == "sent", outcome
    assert ("POST", "/fetch") in Catcher.hits


def test_only_hash_records_leave_the_device(safari, served):
    s = safari
    s.open()
    s.click("#start")
    s.drop([PHOTOS / name for name in AUDIT_PHOTOS])
    s.click("#to-review")
    shown = s.text("#review-body")
    s.click("#submit")
    s.wait("!document.getElementById('screen-receipt').hidden", what="the receipt")
    s.click("#help-button")
    s.wait("document.querySelector('#help-services li') && document.querySelector('#help-platforms li')",
           what="the help screen's lists")

    requests = served.wire.requests
    bodies = [r for r in requests if r["body"] or r["method"] != "GET"]
    assert [(r["method"], r["path"]) for r in bodies] == [("POST", "/api/v1/cases")]
    body = bodies[0]["body"]
    assert body.decode() == shown and len(body) < 8 * 1024 * len(AUDIT_PHOTOS)
    assert {tuple(item) for item in json.loads(body)["items"]} == {("media", "hashes")}
    for name in AUDIT_PHOTOS:
        probes = windows((PHOTOS / name).read_bytes())
        assert len(probes) > 300
        assert [p for p in probes if p in body] == [], name
    for r in requests:
        if r["method"] == "GET":
            assert ALLOWED_GET.match(r["path"]) and not r["query"], r
        assert r["cookie"] is None
    # What the page fetched, as WebKit itself lists it: our origin only (blob: never appears here).
    fetched = s.js("return performance.getEntriesByType('resource').map(e => e.name)")
    assert fetched and all(url.startswith(served.base + "/") for url in fetched), fetched


def test_works_offline_after_one_visit(safari, served, frontend_dist):
    s = safari
    s.open()
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", (frontend_dist / "sw.js").read_text()).group(1))
    cached = 0
    for _ in range(120):
        cached = s.js_async("""
          await navigator.serviceWorker.ready;
          const keys = (await caches.keys()).filter((k) => k.startsWith("takeback-"));
          if (keys.length !== 1) return 0;
          return (await (await caches.open(keys[0])).keys()).length;""")
        if cached == len(precache):
            break
        s.js_async("await new Promise((r) => setTimeout(r, 250)); return true;")
    assert cached == len(precache), "the service worker cached %s of %d files" % (cached, len(precache))
    served.stop()  # no server: as offline as it gets

    s.open()
    s.click("#start")
    s.drop([PHOTOS / "tuxpaint__lighthouse.jpg"])
    assert [st for _, st, _ in s.states()] == ["done"]
    s.click("#to-review")
    s.click("#submit")
    s.wait("document.getElementById('review-status').textContent.includes('No connection')", what="the offline message")

    served.start()  # back online, on the same port
    s.click("#submit")
    s.wait("!document.getElementById('screen-receipt').hidden", what="the receipt")
    assert s.text("#receipt-pin").strip()
