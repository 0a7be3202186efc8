"""What the frightened person sees and keeps: the first screen, the review, a receipt that cannot
be lost, Back and reload, offline hashes, honest words, Quick exit's wipe. Pixel 7 and iPhone 13
profiles (Chromium), against the real server and database."""
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from .conftest import PHONES, PHOTOS, REPO, api, new_context, open_app, pick

CASE_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")
NEUTRAL = "https://www.google.com/search?q=weather+tomorrow"
LOCALES = REPO / "frontend" / "src" / "locales"
PENDING_COUNT = """() => new Promise((resolve) => {
  const open = indexedDB.open('takeback');
  open.onupgradeneeded = () => open.result.createObjectStore('pending', { keyPath: 'key' });
  open.onsuccess = () => {
    const request = open.result.transaction('pending').objectStore('pending').count();
    request.onsuccess = () => { open.result.close(); resolve(request.result); };
  };
})"""


def accept_leaving(page):
    """Accepts the browser's own "leave this page?" question and records that it was asked."""
    asked = []

    def on_dialog(dialog):
        asked.append(dialog.type)
        dialog.accept()

    page.on("dialog", on_dialog)
    return asked


def to_review(page, photos=("opencv__apple.jpg",)):
    open_app(page)
    page.click("#start")
    pick(page, [PHOTOS / p for p in photos])
    page.click("#to-review")
    page.wait_for_selector("#screen-review:not([hidden])")


def to_receipt(page, photos=("opencv__apple.jpg",)):
    to_review(page, photos)
    page.click("#submit")
    page.wait_for_selector("#screen-receipt:not([hidden])")
    return page.inner_text("#receipt-case").strip(), page.inner_text("#receipt-pin").strip()


@pytest.mark.parametrize("lang", ["en-US", "ar"])
def test_first_screen_fits_a_small_phone(browser, server, lang):
    context = browser.new_context(base_url=server, viewport={"width": 360, "height": 640}, is_mobile=True,
                                  has_touch=True, locale=lang)
    page = context.new_page()
    open_app(page)
    for selector in ("#intro-h", ".lead", "#start", "#worker-status", "#exit", "#help-button"):
        box = page.locator(selector).bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= 640, selector
    status = page.locator("#worker-status")
    assert status.get_attribute("data-state") == "ready"
    if lang == "en-US":
        assert page.inner_text("#start") == "Choose photos or videos"
        assert "never leave this phone" in page.inner_text(".lead")
        assert "partly nude" in page.inner_text("#screen-intro")
        assert "parent" in page.inner_text("#screen-intro")
        # The example of what is sent: behind a disclosure, closed at first.
        assert not page.locator("#intro-example").is_visible()
        page.click("#intro-what summary")
        assert json.loads(page.inner_text("#intro-example"))["media"] == "image"
    else:
        assert page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
        # Mirrored: Quick exit sits at the left end of the bar, the language switcher at the right.
        assert page.locator("#exit").bounding_box()["x"] < page.locator("#lang").bounding_box()["x"]
    context.close()


@pytest.mark.parametrize("phone", PHONES, indirect=True)
def test_review_is_a_summary_with_send_in_reach(phone):
    context, _ = phone
    page = context.new_page()
    names = ["opencv__chicky_512.png", "mate__Aqua.jpg", "lomiri1604__Wine_by_Jakkub_Mede.jpg", "opencv__apple.jpg"]
    to_review(page, names)
    cards = page.locator("#review-list li")
    assert cards.count() == 4
    for n in range(4):
        card = cards.nth(n)
        record = json.loads(card.locator("pre").text_content())
        assert card.locator("strong").inner_text() == "Photo %d" % (n + 1)
        assert card.locator("canvas").count() == 1  # the thumbnail, drawn on this phone
        summary = card.locator(".entry-label .note").first.inner_text()
        assert summary.startswith("Fingerprints: %d · " % len(record["hashes"])) and summary.endswith("kB")
        assert not card.locator("pre").is_visible()  # the exact data is one tap away
    cards.nth(0).locator("summary").click()
    assert cards.nth(0).locator("pre").is_visible()
    # Send stays on the screen (a sticky bar) at the top of a long list.
    page.evaluate("() => window.scrollTo(0, 0)")
    viewport = page.viewport_size
    box = page.locator("#submit").bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= viewport["height"]
    assert page.inner_text("#review-total").startswith("To send: 4 · ")
    page.get_by_role("button", name="Remove Photo 2").click()
    assert cards.count() == 3
    assert [cards.nth(n).locator("strong").inner_text() for n in range(3)] == ["Photo 1", "Photo 2", "Photo 3"]
    assert [page.evaluate("(el) => el.dataset.name", cards.nth(n).element_handle()) for n in range(3)] == \
        [names[0], names[2], names[3]]
    body = json.loads(page.locator("#review-body").text_content())
    assert body["items"] == [json.loads(cards.nth(n).locator("pre").text_content()) for n in range(3)]
    assert page.inner_text("#review-total").startswith("To send: 3 · ")


@pytest.mark.parametrize("phone", PHONES, indirect=True)
def test_receipt_cannot_be_lost(phone, server, tmp_path):
    context, _ = phone
    page = context.new_page()
    asked = accept_leaving(page)
    case_id, pin = to_receipt(page)
    assert CASE_ID.match(case_id), case_id
    assert re.fullmatch(r"\d{4} \d{4} \d{4}", pin), pin
    assert api(server, "GET", "/api/v1/cases/" + case_id.lower().replace("-", ""), pin=pin)[0] == 200

    # Copy and download (test_flow.py) give both codes as written here; or a screenshot.
    assert "screenshot" in page.inner_text("#screen-receipt")

    # At 320 px no group of 4 breaks across lines.
    page.set_viewport_size({"width": 320, "height": 640})
    lines = page.evaluate("() => [...document.querySelectorAll('.code .group')].map(g => g.getClientRects().length)")
    assert lines == [1] * 7

    # A reload keeps the receipt (after the browser's own "leave?" question).
    page.reload()
    page.wait_for_selector("#screen-receipt:not([hidden])")
    assert asked == ["beforeunload"]
    assert page.inner_text("#receipt-case").strip() == case_id
    assert page.inner_text("#receipt-pin").strip() == pin

    # Back stays on the receipt and asks; "Stay here" keeps it.
    page.go_back()
    page.wait_for_selector("#leave:not([hidden])")
    assert page.locator("#screen-receipt").is_visible()
    page.click("#leave-no")
    assert page.locator("#leave").is_hidden()

    # Done asks too; once the person says it is saved, the receipt is gone from the tab.
    page.click("#receipt-done")
    page.wait_for_selector("#leave:not([hidden])")
    page.click("#leave-yes")
    page.wait_for_selector("#screen-intro:not([hidden])")
    assert page.evaluate("() => sessionStorage.getItem('takeback.receipt')") is None
    page.reload()
    page.wait_for_selector("#screen-intro:not([hidden])")
    assert page.inner_text("#receipt-case") == ""


@pytest.mark.parametrize("phone", PHONES, indirect=True)
def test_back_and_reload_keep_the_work(phone):
    context, _ = phone
    page = context.new_page()
    asked = accept_leaving(page)
    to_review(page, ["mate__Aqua.jpg"])
    page.go_back()
    page.wait_for_selector("#screen-pick:not([hidden])")
    assert page.evaluate("() => document.activeElement.id") == "pick-h"
    page.go_back()
    page.wait_for_selector("#screen-intro:not([hidden])")
    page.go_forward()
    page.wait_for_selector("#screen-pick:not([hidden])")
    # A reload with unsent hashes asks first, then comes back with them kept (hashes only).
    page.reload()
    page.wait_for_selector("#screen-pick:not([hidden])")
    assert asked == ["beforeunload"]
    assert page.locator("#file-list li[data-state=done]").count() == 1
    assert page.evaluate(PENDING_COUNT) == 1
    page.click("#to-review")
    assert page.locator("#review-list li canvas").count() == 0  # the picture itself was not kept
    assert "not kept" in page.inner_text("#review-list")
    # The in-app Back buttons are the browser's Back.
    page.click("#review-back")
    page.wait_for_selector("#screen-pick:not([hidden])")


@pytest.mark.parametrize("device", PHONES)
def test_offline_hashes_survive_a_reload_and_are_sent_when_the_person_taps(browser, playwright, server, device):
    context, recorder = new_context(browser, playwright, server, device)
    page = context.new_page()
    accept_leaving(page)
    open_app(page)
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null || location.reload()")
    page.wait_for_function("() => document.documentElement.dataset.worker === 'ready'", timeout=60_000)
    context.set_offline(True)
    page.reload()
    page.wait_for_function("() => document.documentElement.dataset.worker === 'ready'", timeout=60_000)
    page.click("#start")
    pick(page, [PHOTOS / "opencv__apple.jpg"])
    page.go_back()
    page.wait_for_selector("#pending:not([hidden])")
    assert "offline" in page.inner_text("#pending")
    assert page.locator("#pending-send").is_hidden()  # nothing to send while offline

    page.reload()  # still offline: the hashes come back from this phone
    page.wait_for_selector("#pending:not([hidden])")
    assert page.inner_text("#pending-count") == "Items ready to send: 1"
    posts_before = len(recorder.non_get())

    context.set_offline(False)
    page.wait_for_selector("#pending-send:not([hidden])")
    assert "back online" in page.inner_text("#pending")
    assert len(recorder.non_get()) == posts_before  # nothing is sent without a tap
    page.click("#pending-send")
    page.wait_for_selector("#screen-receipt:not([hidden])")
    case_id, pin = page.inner_text("#receipt-case").strip(), page.inner_text("#receipt-pin").strip()
    status, body = api(server, "GET", "/api/v1/cases/" + case_id, pin=pin)
    assert status == 200 and [i["media"] for i in body["items"]] == ["image"]
    assert page.evaluate(PENDING_COUNT) == 0
    context.close()


@pytest.mark.parametrize("phone", PHONES, indirect=True)
def test_quick_exit_wipes_the_receipt_and_pending_hashes(phone):
    context, _ = phone
    context.route("https://www.google.com/**", lambda route: route.fulfill(body="<p>Weather</p>", content_type="text/html"))
    page = context.new_page()
    accept_leaving(page)
    to_receipt(page)
    assert page.evaluate("() => sessionStorage.getItem('takeback.receipt')") is not None
    page.goto("/?again")  # the same tab (the receipt still kept in it), a new entry at the first screen
    page.wait_for_function("() => document.documentElement.dataset.worker === 'ready'", timeout=60_000)
    page.click("#start")
    pick(page, [PHOTOS / "mate__Aqua.jpg"])
    assert page.evaluate(PENDING_COUNT) == 1
    page.click("#exit")
    page.wait_for_url(NEUTRAL)
    page.goto("/")
    page.wait_for_selector("#screen-intro:not([hidden])")
    assert page.evaluate("() => sessionStorage.length") == 0
    assert page.evaluate(PENDING_COUNT) == 0
    assert page.locator("#pending").is_hidden()


@pytest.mark.parametrize("phone", PHONES, indirect=True)
def test_messages_follow_a_language_switch(phone):
    context, _ = phone
    page = context.new_page()
    open_app(page)
    page.click("#to-status")
    page.fill("#case-id", "AAAA-BBBB-CCCC-DDDD")
    page.fill("#case-pin", "1234 5678 9012")
    page.click("#check")
    page.wait_for_function("() => document.getElementById('status-status').textContent.startsWith('No case')")
    page.select_option("#lang", "es")
    page.wait_for_function("() => document.documentElement.lang === 'es'")
    assert page.inner_text("#status-status").startswith("No hay")
    # Remembered for this tab only.
    page.reload()
    page.wait_for_function("() => document.documentElement.lang === 'es'")
    other = context.new_page()
    other.goto("/")
    other.wait_for_function("() => document.documentElement.dataset.app === 'ready'")
    assert other.evaluate("() => document.documentElement.lang") == "en"


@pytest.mark.parametrize("phone", ["Pixel 7"], indirect=True)
def test_too_many_requests_says_the_real_wait(phone):
    context, _ = phone
    page = context.new_page()
    to_review(page)
    page.route("**/api/v1/cases", lambda route: route.fulfill(
        status=429, headers={"Retry-After": "120"}, content_type="application/json", body='{"error": "slow down"}'))
    page.click("#submit")
    page.wait_for_function("() => document.getElementById('review-status').textContent.includes('minutes')")
    assert page.inner_text("#review-status") == "Too many tries. Please try again in 2 minutes."
    page.select_option("#lang", "fr")
    page.wait_for_function("() => document.documentElement.lang === 'fr'")
    assert "2 minutes" in page.inner_text("#review-status") and "dans" in page.inner_text("#review-status")


@pytest.mark.parametrize("phone", PHONES, indirect=True)
def test_files_picked_before_the_worker_is_ready_say_getting_ready(phone):
    context, _ = phone
    held, holding = [], [True]
    context.route("**/pyodide/**", lambda route: held.append(route) if holding[0] else route.continue_())
    page = context.new_page()
    page.goto("/")
    page.wait_for_function("() => document.documentElement.dataset.app === 'ready'")
    assert page.inner_text("#worker-status") == "Getting ready…"
    page.click("#start")
    page.set_input_files("#files", [str(PHOTOS / "opencv__apple.jpg")])
    page.wait_for_selector("#file-list li")
    assert page.inner_text("#file-list li .message") == "Getting ready…"
    holding[0] = False
    for route in held:
        route.continue_()
    page.wait_for_function("() => document.querySelector('#file-list li').dataset.state === 'done'", timeout=60_000)
    assert page.inner_text("#file-list li .message") == "Ready"


@pytest.mark.parametrize("phone", ["Pixel 7"], indirect=True)
def test_more_items_than_a_case_holds_are_split(phone, server, tmp_path):
    context, _ = phone
    page = context.new_page()
    accept_leaving(page)
    paths = []
    for n in range(101):  # small, all different
        path = tmp_path / ("p%03d.png" % n)
        Image.frombytes("L", (16, 16), bytes((n * 7 + i * 13) % 256 for i in range(256))).resize((64, 64)).save(path)
        paths.append(path)
    open_app(page)
    page.click("#start")
    pick(page, paths, timeout=300_000)
    page.click("#to-review")
    assert "up to 100" in page.inner_text("#review-status")
    assert page.inner_text("#submit") == "Send the first 100"
    page.click("#submit")
    page.wait_for_selector("#screen-receipt:not([hidden])")
    case_id, pin = page.inner_text("#receipt-case").strip(), page.inner_text("#receipt-pin").strip()
    status, body = api(server, "GET", "/api/v1/cases/" + case_id, pin=pin)
    assert status == 200 and len(body["items"]) == 100
    page.click("#receipt-done")
    page.click("#leave-yes")
    page.wait_for_selector("#pending:not([hidden])")
    assert page.inner_text("#pending-count") == "Items ready to send: 1"


@pytest.mark.parametrize("device", PHONES)
def test_help_on_every_screen_with_local_services_and_platforms(browser, playwright, server, server_app, device):
    from backend import storage

    with server_app.app_context():
        if not storage.partner_by_name("Example Social"):
            storage.add_partner("Example Social", public=True)
            storage.add_partner("Hidden Video Site", public=False)
    context, recorder = new_context(browser, playwright, server, device, locale="es-ES")
    page = context.new_page()
    open_app(page)
    for screen in ("#start", "#pick-back", "#to-status"):
        assert page.locator("#help-button").is_visible() and page.locator("#exit").is_visible()
        page.click(screen)
    page.click("#help-button")
    page.wait_for_selector("#screen-help:not([hidden])")
    assert page.evaluate("() => document.activeElement.id") == "help-h"
    helplines = json.loads((Path(server_app.config["FRONTEND_DIST"]) / "helplines.json").read_text(encoding="utf-8"))
    page.wait_for_selector("#help-services li")
    spain = [s["name"] for s in helplines["countries"][helplines["default_country"]["es"]]]
    assert page.locator("#help-services .service-name").all_inner_texts() == spain
    assert page.locator("#help-everywhere .service-name").all_inner_texts() == [s["name"] for s in helplines["international"]]
    other = next(code for code in helplines["countries"] if code != helplines["default_country"]["es"])
    page.select_option("#help-country", other)
    page.wait_for_function(
        "(names) => JSON.stringify([...document.querySelectorAll('#help-services .service-name')].map(a => a.textContent)) === names",
        arg=json.dumps([s["name"] for s in helplines["countries"][other]], ensure_ascii=False, separators=(",", ":")))
    for link in page.locator("#screen-help a[href^=http]").all():
        assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")
    page.wait_for_selector("#help-platforms li")
    assert page.locator("#help-platforms li").all_inner_texts() == ["Example Social"]
    # What to do now, what happens next, the limits and the questions, in Spanish.
    text = page.inner_text("#screen-help")
    assert "cifrado" in text or "cifrad" in text
    assert page.locator("#screen-help details").count() == 6
    assert recorder.foreign == []  # links only: nothing was loaded from the services' sites
    context.close()


def test_languages_load_only_when_chosen(browser, playwright, server):
    context, _ = new_context(browser, playwright, server, "Pixel 7", locale="en-US")
    page = context.new_page()
    loaded = []  # the page's own requests (the service worker's offline copies are not the page's)
    page.on("request", lambda r: loaded.append(r.url))
    open_app(page)
    scripts = lambda: {u.rsplit("/", 1)[1] for u in loaded if "/assets/" in u and u.endswith(".js")}  # noqa: E731
    cold = scripts()
    assert len(cold) == 2, cold  # the page and the worker: no other language
    page.select_option("#lang", "pl")
    page.wait_for_function("() => document.documentElement.lang === 'pl'")
    added = scripts() - cold
    assert len(added) == 1 and next(iter(added)).startswith("pl"), added
    # The help screen's code and words: two more chunks, the words of this language only.
    page.click("#help-button")
    page.wait_for_selector("#screen-help:not([hidden])")
    assert page.inner_text("#help-h") == json.loads((LOCALES / "help" / "pl.json").read_text(encoding="utf-8"))["help.title"]
    helped = scripts() - cold - added
    assert sorted(name.split("-")[0] for name in helped) == ["help", "pl"], helped
    context.close()


def test_codes_read_left_to_right_in_arabic(browser, playwright, server):
    context, _ = new_context(browser, playwright, server, "Pixel 7", locale="ar")
    page = context.new_page()
    accept_leaving(page)
    to_receipt(page)
    assert page.evaluate("() => document.documentElement.dir") == "rtl"
    for code in ("#receipt-case", "#receipt-pin"):
        xs = page.eval_on_selector_all(code + " .group", "els => els.map(e => e.getBoundingClientRect().left)")
        assert len(xs) >= 3 and xs == sorted(xs), (code, xs)  # the first group on the left, as written
    context.close()


def test_more_bytes_than_a_case_holds_are_split(browser, playwright, server):
    # Sixty records of the largest kind a video makes (200 frames, a PDQ and a block hash each),
    # about 44 KB each: more than the server's 2 MiB body. They are put where the app keeps
    # unsent hashes (made-up values: this is about sizes, not matching), then the app is reloaded.
    import random

    rng = random.Random(7)
    hexes = lambda n: "".join(rng.choice("0123456789abcdef") for _ in range(n))  # noqa: E731
    records = []
    for _ in range(60):
        hashes = [h for _ in range(200) for h in (
            {"type": "pdq", "value": hexes(64), "quality": 100}, {"type": "pdq-blocks", "value": hexes(64), "quality": 100})]
        records.append({"media": "video", "hashes": hashes + [{"type": "md5", "value": hexes(32)}, {"type": "sha256", "value": hexes(64)}]})
    context, _ = new_context(browser, playwright, server, "Pixel 7")
    page = context.new_page()
    accept_leaving(page)
    open_app(page)
    page.evaluate("""(records) => new Promise((resolve) => {
      const open = indexedDB.open('takeback', 1);
      open.onsuccess = () => {
        const tx = open.result.transaction('pending', 'readwrite');
        records.forEach((record, i) => tx.objectStore('pending').put({key: 'k' + i, order: i, record}));
        tx.oncomplete = () => { open.result.close(); resolve(); };
      };
    })""", records)
    page.reload()
    page.wait_for_selector("#pending:not([hidden])")
    assert page.inner_text("#pending-count") == "Items ready to send: 60"
    page.click("#pending-review")
    assert page.inner_text("#review-status").startswith("That is more than one case can hold.")
    first = int(re.fullmatch(r"Send the first (\d+)", page.inner_text("#submit")).group(1))
    body = page.locator("#review-body").text_content()
    assert 40 <= first < 60 and len(body.encode()) <= 2 * 1024 * 1024
    assert len(json.loads(body)["items"]) == first
    page.click("#submit")
    page.wait_for_selector("#screen-receipt:not([hidden])")
    case_id, pin = page.inner_text("#receipt-case").strip(), page.inner_text("#receipt-pin").strip()
    status, sent = api(server, "GET", "/api/v1/cases/" + case_id, pin=pin)
    assert status == 200 and len(sent["items"]) == first
    assert page.evaluate(PENDING_COUNT) == 60 - first
    context.close()
