"""Network audit: every request the browser makes while a person hashes and submits photos, then
opens help (the operator's list of services and the public list of platforms)."""
import json
import re
from urllib.parse import urlsplit

from .conftest import PHOTOS, open_app, pick, windows

AUDIT_PHOTOS = ["opencv__graf1.png", "mate__FreshFlower.jpg", "lomiri2004__Kleiber_by_Lukas_Baubkus.jpg"]
# Static files of the build, and the API (the platforms list, the challenge of the proof of work
# that goes with the case): nothing else may be asked for.
ALLOWED_GET = re.compile(
    r"^/($|assets/[\w.-]+$|pyodide/[\w.]+/[\w.-]+$|sw\.js$|favicon\.svg$|helplines\.json$|api/v1/platforms$"
    r"|api/v1/cases/challenge$)")


def test_only_hash_records_leave_the_device(phone, server):
    context, recorder = phone
    page = context.new_page()
    open_app(page)
    page.click("#start")
    pick(page, [PHOTOS / name for name in AUDIT_PHOTOS])
    page.click("#to-review")
    shown = page.evaluate("() => document.getElementById('review-body').textContent")
    page.click("#submit")
    page.wait_for_selector("#screen-receipt:not([hidden])")
    page.click("#help-button")
    page.wait_for_selector("#help-services li")
    page.wait_for_selector("#help-platforms li")

    requests = list(recorder.requests)
    assert requests, "nothing was recorded"
    # Nothing to another origin (blob: URLs are the page's own memory).
    assert recorder.foreign == []
    # The only non-GET request is the case POST...
    posts = recorder.non_get()
    assert [(r.method, urlsplit(r.url).path) for r in posts] == [("POST", "/api/v1/cases")]
    post = posts[0]
    body = post.post_data_buffer
    # ...its body is exactly what the review screen showed, small, and carries no file bytes.
    assert body.decode() == shown
    assert len(body) < 8 * 1024 * len(AUDIT_PHOTOS)
    assert "cookie" not in {k.lower() for k in post.headers}
    sent = json.loads(body)
    assert len(sent["items"]) == len(AUDIT_PHOTOS)
    for item in sent["items"]:
        assert set(item) == {"media", "hashes"}
    for name in AUDIT_PHOTOS:
        data = (PHOTOS / name).read_bytes()
        probes = windows(data)
        assert len(probes) > 300
        leaked = [p for p in probes if p in body]
        assert leaked == [], "%s: %d windows of the file are in the body" % (name, len(leaked))
    paths = {urlsplit(r.url).path for r in requests}
    assert {"/helplines.json", "/api/v1/platforms"} <= paths
    # Every GET is one of the app's own files or the platforms list; none carries a query string.
    for r in requests:
        if r.method == "GET" and not r.url.startswith("blob:"):
            parts = urlsplit(r.url)
            assert ALLOWED_GET.match(parts.path) and not parts.query, r.url
