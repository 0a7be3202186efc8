"""The person's whole flow in WebKit: drop photos, hash, review, send, receipt, status, withdraw."""
import json
import re

from ..conftest import PHOTOS, api

FLOW_PHOTOS = ["opencv__chicky_512.png", "mate__Aqua.jpg", "lomiri1604__Wine_by_Jakkub_Mede.jpg"]
CASE_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")


def test_whole_flow_in_webkit(safari, served):
    s = safari
    s.open()
    assert "AppleWebKit" in s.js("return navigator.userAgent")
    assert s.visible("#screen-intro") and s.visible("#exit") and s.visible("#help-button")

    s.click("#start")
    s.drop([PHOTOS / name for name in FLOW_PHOTOS])
    assert [(n, st) for n, st, _ in s.states()] == [(n, "done") for n in FLOW_PHOTOS]

    s.click("#to-review")
    entries = s.review_entries()
    assert [name for name, _ in entries] == FLOW_PHOTOS
    for _, record in entries:
        types = [h["type"] for h in record["hashes"]]
        assert record["media"] == "image" and types[0] == "pdq" and types[-2:] == ["md5", "sha256"]
        assert set(types[1:-2]) == {"pdq-window", "pdq-dihedral", "pdq-blocks", "pdq-pair-blocks"}
    s.js("[...document.querySelectorAll('#review-list button')]"
         ".find(b => b.getAttribute('aria-label') === 'Remove Photo 2').click()")
    kept = s.review_entries()
    assert [name for name, _ in kept] == [FLOW_PHOTOS[0], FLOW_PHOTOS[2]]
    shown = json.loads(s.text("#review-body"))
    assert shown == {"items": [record for _, record in kept]}

    s.click("#submit")
    s.wait("!document.getElementById('screen-receipt').hidden", what="the receipt")
    case_id, pin = s.text("#receipt-case").strip(), s.text("#receipt-pin").strip()
    assert CASE_ID.match(case_id) and re.fullmatch(r"\d{4} \d{4} \d{4}", pin), (case_id, pin)
    posts = [r for r in served.wire.requests if r["method"] == "POST"]
    assert [r["path"] for r in posts] == ["/api/v1/cases"]
    assert json.loads(posts[0]["body"]) == shown  # what was sent is exactly what was shown
    status, body = api(served.base, "GET", "/api/v1/cases/" + case_id, pin=pin)
    assert status == 200 and [i["status"] for i in body["items"]] == ["active", "active"]

    # Status and withdrawal through the page.
    s.click("#receipt-check")
    assert s.js("return document.getElementById('case-id').value") == case_id
    s.click("#check")
    s.wait("!document.getElementById('case-view').hidden", what="the case")
    s.js("[...document.querySelectorAll('#case-items button')]"
         ".find(b => b.textContent === 'Withdraw Photo 1').click()")
    s.click("#confirm-yes")
    s.wait("document.querySelector('#case-items li[data-item=\"1\"]').dataset.status === 'withdrawn'", what="withdrawal")
    s.click("#withdraw-all")
    s.click("#confirm-yes")
    s.wait("[...document.querySelectorAll('#case-items li')].every(li => li.dataset.status === 'withdrawn')")
    status, body = api(served.base, "GET", "/api/v1/cases/" + case_id, pin=pin)
    assert [i["status"] for i in body["items"]] == ["withdrawn", "withdrawn"]
    withdrawals = [json.loads(r["body"]) for r in served.wire.requests if r["path"].endswith("/withdraw")]
    assert withdrawals[0] == {"items": [1]}
    # Nothing kept but the receipt, in this tab; no cookie ever sent.
    assert s.js("return [localStorage.length, Object.keys(sessionStorage), document.cookie]") == \
        [0, ["takeback.receipt"], ""]
    assert all(r["cookie"] is None for r in served.wire.requests)
