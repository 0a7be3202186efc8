"""HEIC/HEIF photos in a browser that cannot decode them (Chromium): libheif in a worker of its own.

The files are made here, at test time, from corpus photos with pillow-heif (as
tests/test_decode_heic.py makes them): a plain one, an iPhone-like grid turned by irot, a 10-bit
one, a burst (two images, the primary first), one whose EXIF tag says "turn" with no irot (not
turned, as `takeback hash` does), one with transparency, a burst whose primary is its second
image. Each must hash as `takeback hash` hashes it (in-process here: takeback.media.file_record),
and its record must look like a JPEG's.
The decoder is fetched only when a HEIF photo is picked, and kept by the service worker then.
"""
import collections
import json
import re
from urllib.parse import urlsplit

import pytest
from flask_migrate import upgrade
from PIL import Image

from backend import create_app
from takeback.media import file_record
from tests.test_decode_heic import LOSSLESS, OTHER, encoded, exif_bytes, heic_16, rgb, stored_for

from .conftest import PHOTOS, new_context, open_app, pick, review_entries
from .test_offline import Server

MAX_PDQ_BITS = 4
PHOTO = PHOTOS / "lomiri2004__Kleiber_by_Lukas_Baubkus.jpg"
JPEG = PHOTOS / "opencv__orange.jpg"
DECODER = re.compile(r"^/assets/(heic-worker-[\w-]+\.js|libheif-[\w-]+\.(js|wasm))$")


def hamming(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def exif_tag_without_irot(im):
    """A lossless HEIC whose EXIF orientation says 6 while no irot turns it."""
    heic = encoded(im, "HEIF", exif=exif_bytes(1), **LOSSLESS)
    entry = re.compile(rb"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x01")  # big-endian Orientation = 1
    assert len(entry.findall(heic)) == 1
    return entry.sub(b"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06", heic)


@pytest.fixture(scope="module")
def heics(tmp_path_factory):
    folder = tmp_path_factory.mktemp("heic")
    photo = rgb(PHOTO, 1600)  # 1600 x 900: a grid of 512-pixel tiles, quick to encode
    small = rgb(PHOTO, 480)
    with Image.open(PHOTOS / "opencv__graf1.png") as im:
        alpha = im.convert("L").resize(small.size)
    transparent = small.convert("RGBA")
    transparent.putalpha(alpha)
    made = {
        "IMG_0001.heic": encoded(photo, "HEIF", quality=80),
        # As an iPhone writes: 512-pixel tiles, stored sideways, irot and the EXIF tag saying so.
        "IMG_0002.heic": encoded(stored_for(photo, 6), "HEIF", quality=80, exif=exif_bytes(6), tile_size=512),
        "IMG_0003.heic": heic_16(photo, 10, quality=80),
        "IMG_0004.heic": encoded(photo, "HEIF", save_all=True, append_images=[rgb(OTHER, 1200)], quality=80),
        "IMG_0005.heic": exif_tag_without_irot(small),
        "IMG_0006.heic": encoded(transparent, "HEIF", quality=90),
        # A burst whose primary image is the second: the primary is hashed, not the first.
        "IMG_0007.heic": encoded(small, "HEIF", save_all=True, append_images=[rgb(OTHER, 480)], quality=80, primary_index=1),
    }
    paths = []
    for name, data in made.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def decoder_requests(recorder):
    return sorted({urlsplit(r.url).path for r in recorder.requests if DECODER.match(urlsplit(r.url).path)})


def test_heic_photos_hash_like_takeback_hash(phone, heics):
    context, recorder = phone
    page = context.new_page()
    open_app(page)
    page.click("#start")
    pick(page, [*heics, JPEG], timeout=240_000)
    states = page.eval_on_selector_all("#file-list li", "els => els.map(e => [e.dataset.name, e.dataset.state, e.dataset.ms])")
    print("\nms per file (decode + hash): %s" % [(n, ms) for n, _, ms in states])
    assert [(n, s) for n, s, _ in states] == [(p.name, "done") for p in [*heics, JPEG]]
    assert len(decoder_requests(recorder)) == 3  # the worker, libheif.js, libheif.wasm
    page.click("#to-review")
    browser = dict(review_entries(page))

    jpeg = browser.pop(JPEG.name)
    jpeg_keys = {h["type"]: set(h) for h in jpeg["hashes"]}  # each hash type's fields
    distances = collections.OrderedDict()
    windows = {}
    for path in heics:
        record = browser[path.name]
        server = file_record(path).to_json()
        # A record like any photo's, and like the one `takeback hash` makes: the same keys, the
        # same hash types with the same fields (how many content windows depends on the picture).
        assert set(record) == set(jpeg) == set(server) == {"media", "hashes"}
        assert record["media"] == server["media"] == "image"
        assert {h["type"] for h in record["hashes"]} == {h["type"] for h in server["hashes"]} <= set(jpeg_keys), path.name
        for h in record["hashes"]:
            assert set(h) == jpeg_keys[h["type"]], (path.name, h)
        windows[path.name] = (len(record["hashes"]), len(server["hashes"]))
        b = {h["type"]: h for h in record["hashes"]}
        s = {h["type"]: h for h in server["hashes"]}
        assert set(b["pdq"]) == set(s["pdq"]) == {"type", "value", "quality"}
        assert b["md5"] == s["md5"] and b["sha256"] == s["sha256"]
        distances[path.name] = hamming(b["pdq"]["value"], s["pdq"]["value"])
    print("PDQ bits differing, browser (libheif.wasm) vs takeback hash (pillow-heif): %s" % dict(distances))
    print("hash entries, browser and takeback hash: %s" % windows)
    assert max(distances.values()) <= MAX_PDQ_BITS, distances
    # The turn and the burst really matter: the other picture is far away.
    upright = {h["type"]: h["value"] for h in browser["IMG_0001.heic"]["hashes"]}["pdq"]
    turned = {h["type"]: h["value"] for h in browser["IMG_0002.heic"]["hashes"]}["pdq"]
    assert hamming(upright, turned) <= 16
    second = {h["type"]: h["value"] for h in file_record(heics[6]).to_json()["hashes"]}["pdq"]
    alone = encoded(rgb(OTHER, 480), "PNG")
    (heics[6].parent / "other.png").write_bytes(alone)
    other = {h["type"]: h["value"] for h in file_record(heics[6].parent / "other.png").to_json()["hashes"]}["pdq"]
    assert hamming(second, other) <= 8  # (the server's primary is the second image, too)
    assert recorder.non_get() == []


def test_exif_tag_without_irot_and_transparency_follow_the_server_exactly(phone, heics):
    # Lossless files: the server's pixels are known exactly, so the browser's PDQ must be equal.
    context, _ = phone
    page = context.new_page()
    open_app(page)
    page.click("#start")
    exif_only, transparent = heics[4], heics[5]
    pick(page, [exif_only, transparent])
    page.click("#to-review")
    browser = dict(review_entries(page))
    pdq = {name: {h["type"]: h["value"] for h in record["hashes"]}["pdq"] for name, record in browser.items()}
    assert pdq[exif_only.name] == {h["type"]: h["value"] for h in file_record(exif_only).to_json()["hashes"]}["pdq"]
    turned = exif_only.with_name("turned.png")
    Image.open(exif_only).convert("RGB").transpose(Image.Transpose.ROTATE_270).save(turned)
    assert hamming(pdq[exif_only.name], {h["type"]: h["value"] for h in file_record(turned).to_json()["hashes"]}["pdq"]) > 32
    assert hamming(pdq[transparent.name], {h["type"]: h["value"] for h in file_record(transparent).to_json()["hashes"]}["pdq"]) <= 2


def test_decoder_is_fetched_only_for_a_heic_and_then_works_offline(browser, playwright, frontend_dist, heics, tmp_path):
    sw = (frontend_dist / "sw.js").read_text()
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", sw).group(1))
    on_demand = json.loads(re.search(r"const ON_DEMAND = new Set\((\[.*?\])\);", sw).group(1))
    assert len([p for p in on_demand if DECODER.match(p)]) == 3
    assert not set(on_demand) & set(precache)
    manifest = json.loads((frontend_dist / "takeback-manifest.json").read_text())["files"]
    assert all(p.lstrip("/") in manifest for p in on_demand)

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///%s" % (tmp_path / "db.sqlite"), "FRONTEND_DIST": str(frontend_dist)})
    with app.app_context():
        upgrade()
    server = Server(app)
    context, recorder = new_context(browser, playwright, "http://127.0.0.1:%d" % server.port, "Pixel 7")
    stopped = False
    try:
        page = context.new_page()
        open_app(page)
        page.click("#start")
        pick(page, [JPEG, PHOTOS / "opencv__graf1.png"])
        # The service worker has cached the build, and nobody asked for the decoder.
        page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        page.wait_for_function(
            "async (n) => { const keys = (await caches.keys()).filter(k => k.startsWith('takeback-'));"
            " if (keys.length !== 1) return false; const c = await caches.open(keys[0]); return (await c.keys()).length === n; }",
            arg=len(precache),
        )
        assert decoder_requests(recorder) == []

        pick(page, [heics[0]])
        assert page.locator("#file-list li[data-state=done]").count() == 3
        assert decoder_requests(recorder) == sorted(p for p in on_demand if DECODER.match(p))
        # Kept by the service worker on first use...
        page.wait_for_function(
            "async (n) => { const keys = (await caches.keys()).filter(k => k.startsWith('takeback-'));"
            " const c = await caches.open(keys[0]); return (await c.keys()).length === n; }",
            arg=len(precache) + 3,
        )
        server.stop()  # ...so that with no server at all, a new page decodes a HEIC too.
        stopped = True
        page.reload()
        page.wait_for_function("() => document.documentElement.dataset.worker === 'ready'", timeout=60_000)
        if page.locator("#start").is_visible():
            page.click("#start")  # (a reload comes back to the screen it was on)
        pick(page, [heics[2]])
        assert page.get_attribute("#file-list li:last-child", "data-state") == "done"
        assert page.get_attribute("#file-list li:last-child", "data-name") == heics[2].name
    finally:
        context.close()
        if not stopped:
            server.stop()


def test_a_decoder_that_never_answers_is_given_up_and_the_next_heic_decodes(phone, heics):
    """A worker the browser kills for memory may never answer: after 2 minutes (the page's clock,
    run forward here) the photo is refused as too large, and the next one gets a fresh worker."""
    context, _ = phone
    hang = {"on": True}

    def decoder(route):
        hang["asked"] = True
        if hang["on"]:
            route.fulfill(status=200, content_type="text/javascript", body="self.onmessage = () => {};")
        else:
            route.continue_()

    context.route("**/assets/heic-worker-*.js", decoder)
    page = context.new_page()
    page.clock.install()
    open_app(page)
    page.click("#start")
    pick(page, [heics[0]], settle=False)
    # The 2-minute timer starts with the decoder worker, after the file's header is read: run the
    # clock only once the worker's script is asked for.
    for _ in range(300):
        if hang.get("asked"):
            break
        page.wait_for_timeout(100)
    assert hang.get("asked"), "the HEIF decoder was never started"
    assert page.get_attribute("#file-list li", "data-state") == "decoding"
    page.clock.run_for(60_000)
    assert page.get_attribute("#file-list li", "data-state") == "decoding"  # still waiting at 1 minute
    page.clock.run_for(61_000)
    page.wait_for_function("() => document.querySelector('#file-list li').dataset.state === 'error'")
    assert "too large" in page.inner_text("#file-list li .message")
    hang["on"] = False
    pick(page, [heics[1]])
    assert page.get_attribute("#file-list li:last-child", "data-state") == "done"
