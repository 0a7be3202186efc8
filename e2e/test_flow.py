"""The person's whole flow on two phones, against the real server and database."""
import json

import pytest

from .conftest import PHONES, PHOTOS, api, open_app, pick, review_entries

FLOW_PHOTOS = ["opencv__chicky_512.png", "mate__Aqua.jpg", "lomiri1604__Wine_by_Jakkub_Mede.jpg"]
HEX = set("0123456789abcdef")


@pytest.mark.parametrize("phone", PHONES, indirect=True)
def test_whole_flow(phone, server, tmp_path):
    context, recorder = phone
    page = context.new_page()
    open_app(page)

    # 1. Intro: what is sent, with an example; a quick exit on the screen.
    assert page.locator("#screen-intro").is_visible()
    page.click("#intro-what summary")
    assert json.loads(page.inner_text("#intro-example"))["media"] == "image"
    assert page.locator("#exit").is_visible()

    # 2. Pick photos: each gets hashed on the device.
    page.click("#start")
    assert page.locator("#exit").is_visible()
    pick(page, [PHOTOS / name for name in FLOW_PHOTOS])
    states = page.eval_on_selector_all("#file-list li", "els => els.map(e => e.dataset.state)")
    assert states == ["done"] * 3

    # 3. Review: one entry per photo, thumbnail + the record; remove one.
    page.click("#to-review")
    entries = review_entries(page)
    assert [name for name, _ in entries] == FLOW_PHOTOS
    for _, record in entries:
        assert record["media"] == "image"
        types = [h["type"] for h in record["hashes"]]  # PDQ, the robust hashes, the digests
        assert types[0] == "pdq" and types[-2:] == ["md5", "sha256"]
        assert set(types[1:-2]) == {"pdq-window", "pdq-dihedral", "pdq-blocks", "pdq-pair-blocks"}
        assert types.count("pdq-dihedral") == 3
        assert all(set(h["value"]) <= HEX for h in record["hashes"])
    assert page.locator("#review-list li canvas").count() == 3
    page.get_by_role("button", name="Remove Photo 2").click()
    kept = review_entries(page)
    assert [name for name, _ in kept] == [FLOW_PHOTOS[0], FLOW_PHOTOS[2]]
    page.click("#review-all summary")
    shown = json.loads(page.inner_text("#review-body"))
    assert shown == {"items": [record for _, record in kept]}

    # 4. Submit: the receipt, with copy/download and the warning.
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/api/v1/cases")) as posted:
        page.click("#submit")
    assert json.loads(posted.value.post_data) == shown
    # With proof of work for this exact body, found by the hashing worker (hashing/admission.py).
    from hashing import admission

    headers = posted.value.headers
    body = posted.value.post_data_buffer
    bits = admission.required_bits(int(headers["x-takeback-challenge"].split(".")[2]), admission.case_hashes(body))
    assert admission.verify(headers["x-takeback-challenge"], admission.body_digest(body), bits, headers["x-takeback-work"])
    page.wait_for_selector("#screen-receipt:not([hidden])")
    case_id = page.inner_text("#receipt-case").strip()
    pin = page.inner_text("#receipt-pin").strip()
    assert case_id and pin
    assert "Nobody can recover the PIN" in page.inner_text("#screen-receipt")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page.click("#copy")
    page.wait_for_function("() => document.getElementById('receipt-status').textContent !== ''")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert case_id in copied and pin in copied
    with page.expect_download() as download:
        page.click("#download")
    path = tmp_path / "receipt.txt"
    download.value.save_as(path)
    text = path.read_text()
    assert case_id in text and pin in text

    # The case exists, through the API.
    status, body = api(server, "GET", "/api/v1/cases/" + case_id, pin=pin)
    assert status == 200, body
    assert [(i["item"], i["status"]) for i in body["items"]] == [(1, "active"), (2, "active")]
    assert api(server, "GET", "/api/v1/cases/" + case_id, pin="0" + pin)[0] == 404

    # 5. Check status and withdraw everything through the UI.
    page.click("#receipt-check")
    assert page.input_value("#case-id") == case_id
    page.click("#check")
    page.wait_for_selector("#case-view:not([hidden])")
    assert page.eval_on_selector_all("#case-items li", "els => els.map(e => e.dataset.status)") == ["active", "active"]
    page.get_by_role("button", name="Withdraw Photo 1").click()
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/withdraw")) as withdrawn:
        page.click("#confirm-yes")
    assert json.loads(withdrawn.value.post_data) == {"items": [1]}
    page.wait_for_function("() => document.querySelector('#case-items li[data-item=\"1\"]').dataset.status === 'withdrawn'")
    assert api(server, "GET", "/api/v1/cases/" + case_id, pin=pin)[1]["items"][1]["status"] == "active"
    page.click("#withdraw-all")
    page.click("#confirm-yes")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#case-items li')].every(li => li.dataset.status === 'withdrawn')"
    )
    status, body = api(server, "GET", "/api/v1/cases/" + case_id, pin=pin)
    assert status == 200
    assert [i["status"] for i in body["items"]] == ["withdrawn", "withdrawn"]

    assert recorder.foreign == []
    # Nothing kept in the browser but the receipt, in this tab only, until the person says it is saved.
    assert context.cookies() == []
    assert page.evaluate("() => [localStorage.length, Object.keys(sessionStorage), document.cookie]") == \
        [0, ["takeback.receipt"], ""]


def test_wrong_pin_and_rate_limit_are_clear_messages(phone, server, server_app, monkeypatch):
    # The server's clock stands still for this test, so the wait cannot run out before the page asks.
    frozen = server_app.config["PIN_CLOCK"]()
    monkeypatch.setitem(server_app.config, "PIN_CLOCK", lambda: frozen)
    context, recorder = phone
    page = context.new_page()
    page.goto("/")
    page.click("#to-status")
    page.fill("#case-id", "no-such-case")
    page.fill("#case-pin", "123456")
    page.click("#check")
    page.wait_for_function("() => document.getElementById('status-status').textContent.includes('No case')")
    assert page.locator("#case-view").is_hidden()
    # Keep guessing (from outside the page) until the server refuses: the page says to wait.
    for _ in range(20):
        if api(server, "GET", "/api/v1/cases/no-such-case", pin="000000")[0] == 429:
            break
    page.click("#check")
    page.wait_for_function("() => document.getElementById('status-status').textContent.includes('Too many tries')")
