"""Videos in the browser: hashed on a phone with the photos, the same network audit, the same
frame hashes as `takeback hash`, a clear message for a video the browser cannot decode, Cancel."""
import collections
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from hashing import MediaRecord, video_frames
from hashing.video import MAX_VIDEO_HASHES

from .conftest import CORPUS, PHOTOS, REPO, open_app, pick, review_entries, windows
from .test_network import ALLOWED_GET

VIDEO = CORPUS / "tmk-videos" / "chair-orig-22-sd-bar.mp4"
PHOTO = PHOTOS / "mate__Aqua.jpg"
MAX_FRAME_BITS = 8  # browser (Chromium's decoder) vs PyAV (FFmpeg's) for one frame: "a few bits"
MAX_BLOCK_BITS = 12  # the same for a frame's block hash (its match threshold: 40)
# A video's share of the POST body: at most MAX_VIDEO_HASHES frame hash entries of ~110-120
# bytes each as the page sends them, plus its digests.
VIDEO_BODY_BOUND = MAX_VIDEO_HASHES * 128 + 1024
PHOTO_BODY_BOUND = 8 * 1024


def hamming(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def make_video(path, codec, seconds, fps=2, size=(160, 120), audio=False):
    """A small clip with PyAV: moving bars of colour, so that its frames differ; with `audio`,
    also a silent AAC track (as phones record), which a browser might play without the video."""
    import av
    import numpy as np

    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        if codec == "libx265":
            stream.options = {"x265-params": "log-level=error"}
        elif codec == "libvpx-vp9":
            stream.options = {"deadline": "realtime", "cpu-used": "8"}
        sound = out.add_stream("aac", rate=44100, layout="mono") if audio else None
        if sound:
            for n in range(seconds * 44100 // 1024):
                frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
                frame.sample_rate, frame.pts = 44100, n * 1024
                for packet in sound.encode(frame):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)
        y, x = np.mgrid[0:size[1], 0:size[0]]
        for n in range(seconds * fps):
            rgb = np.stack([(x * 3 + n * 17) % 256, (y * 5 + n * 29) % 256, ((x ^ y) + n * 7) % 256], -1).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def of_type(frame, type_):
    """The value of a frame's first record of a type, or None."""
    return next((r.value for r in frame if r.type == type_), None)


def server_frames(path):
    """{time: (pdq hex, block hash hex or None, picture window hex or None)} of the frames
    `takeback hash` keeps, as hashing.FrameHashes keeps them."""
    from hashing import FrameHashes
    from takeback.decode import video_frames as decoded

    sampled = decoded(path)[1]
    frames = FrameHashes(samples=len(sampled))
    for time, _number, pixels in sampled:
        frames.add(time, pixels)
    return {round(t, 6): (f[0].value, of_type(f, "pdq-blocks"), of_type(f, "pdq-window"))
            for (t, _), f in zip(frames.frames, video_frames(frames.records()))}


def test_video_with_a_photo_agrees_with_takeback_hash_and_sends_only_hashes(phone, server):
    if not VIDEO.is_file():
        pytest.fail("the test corpus is missing: %s" % VIDEO)
    takeback = Path(sys.executable).with_name("takeback")
    cli = subprocess.Popen([str(takeback), "hash", str(VIDEO)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    context, recorder = phone
    page = context.new_page()
    open_app(page)
    page.click("#start")
    # Every message the video's line shows on its way (each render makes new nodes).
    page.evaluate("""() => { window.seen = new Set(); new MutationObserver(() => {
        const m = document.querySelector('#file-list li .message'); if (m) window.seen.add(m.textContent);
      }).observe(document.getElementById('file-list'), {childList: true, subtree: true}); }""")
    pick(page, [VIDEO, PHOTO])
    seen = page.evaluate("() => [...window.seen]")
    assert "Opening the video…" in seen and "Opening the photo…" not in seen, seen
    assert page.eval_on_selector_all("#file-list li", "els => els.map(e => e.dataset.state)") == ["done", "done"]
    assert page.locator("#cancel").is_hidden()
    page.click("#to-review")
    entries = review_entries(page)
    assert [name for name, _ in entries] == [VIDEO.name, PHOTO.name]
    assert page.locator("#review-list li canvas").count() == 2
    # Called what they are, numbered as the case will number them.
    assert page.locator("#review-list li strong").all_inner_texts() == ["Video 1", "Photo 2"]
    record = entries[0][1]
    assert record["media"] == "video"
    times = json.loads(page.get_attribute("#review-list li:first-child", "data-times"))
    shown = page.evaluate("() => document.getElementById('review-body').textContent")
    page.click("#submit")
    page.wait_for_selector("#screen-receipt:not([hidden])")

    # The CLI prints the same record shape, with equal digests.
    out, _ = cli.communicate(timeout=120)
    assert cli.returncode == 0
    cli_record = json.loads(out)
    assert cli_record["media"] == "video"
    assert record["hashes"][-2:] == cli_record["hashes"][-2:]
    assert [h["type"] for h in record["hashes"][-2:]] == ["md5", "sha256"]

    # Frame by frame: the browser's kept frames against the server's, by time.
    frames = video_frames(MediaRecord.from_json(record).hashes)
    pdq = [f[0].value for f in frames]
    assert len(frames) == len(times) > 10
    browser = {round(t, 6): value for t, value in zip(times, pdq)}
    blocks = {round(t, 6): of_type(f, "pdq-blocks") for t, f in zip(times, frames) if of_type(f, "pdq-blocks")}
    frame_windows = {round(t, 6): of_type(f, "pdq-window") for t, f in zip(times, frames) if of_type(f, "pdq-window")}
    assert len(blocks) >= 0.9 * len(frames)
    server = server_frames(VIDEO)
    theirs = {t: pair[0] for t, pair in server.items()}
    their_blocks = {t: pair[1] for t, pair in server.items() if pair[1]}
    their_windows = {t: pair[2] for t, pair in server.items() if pair[2]}
    common = sorted(set(browser) & set(theirs))
    distances = collections.Counter(hamming(browser[t], theirs[t]) for t in common)
    block_distances = collections.Counter(hamming(blocks[t], their_blocks[t])
                                          for t in sorted(set(blocks) & set(their_blocks)))
    window_distances = collections.Counter(hamming(frame_windows[t], their_windows[t])
                                           for t in sorted(set(frame_windows) & set(their_windows)))
    print("\nvideo %s: %d browser frames, %d server frames, %d at the same times" % (
        VIDEO.name, len(browser), len(theirs), len(common)))
    print("PDQ bits differing per frame, browser vs takeback hash: %s" % dict(sorted(distances.items())))
    print("block hash bits differing per frame: %s" % dict(sorted(block_distances.items())))
    print("picture window bits differing per frame: %s" % dict(sorted(window_distances.items())))
    print("kept on one side only (near-repeat dropped on the other): %s" % sorted(set(browser) ^ set(theirs)))
    assert len(common) >= 0.9 * max(len(browser), len(theirs))
    assert max(distances) <= MAX_FRAME_BITS
    assert sum(block_distances.values()) >= 0.9 * len(common) and max(block_distances) <= MAX_BLOCK_BITS
    assert sum(window_distances.values()) >= 0.9 * len(common) and max(window_distances) <= MAX_BLOCK_BITS
    # A frame kept on one side only still has a close twin on the other.
    for t in set(browser) - set(theirs):
        assert min(hamming(browser[t], v) for v in theirs.values()) <= MAX_FRAME_BITS + 4, t

    # The network audit, as for photos.
    assert recorder.foreign == []
    posts = recorder.non_get()
    assert [(r.method, urlsplit(r.url).path) for r in posts] == [("POST", "/api/v1/cases")]
    body = posts[0].post_data_buffer
    assert body.decode() == shown
    print("POST body: %d bytes for a video of %d frame hashes and a photo" % (len(body), len(pdq)))
    assert len(body) < VIDEO_BODY_BOUND + PHOTO_BODY_BOUND
    sent = json.loads(body)
    assert [item["media"] for item in sent["items"]] == ["video", "image"]
    for item in sent["items"]:
        assert set(item) == {"media", "hashes"}
    for path in (VIDEO, PHOTO):
        probes = windows(path.read_bytes())
        assert len(probes) > 300
        assert [p for p in probes if p in body] == [], path.name
    for r in recorder.requests:
        if r.method == "GET" and not r.url.startswith("blob:"):
            parts = urlsplit(r.url)
            assert ALLOWED_GET.match(parts.path) and not parts.query, r.url


def test_hevc_video_gets_a_clear_message_and_is_not_sent(phone, tmp_path):
    hevc = make_video(tmp_path / "iphone.mov", "libx265", seconds=2, audio=True)
    context, recorder = phone
    page = context.new_page()
    open_app(page)
    page.click("#start")
    pick(page, [hevc, PHOTO])
    states = page.eval_on_selector_all("#file-list li", "els => els.map(e => [e.dataset.state, e.innerText])")
    assert [s for s, _ in states] == ["error", "done"]
    message = states[0][1]
    assert "HEVC (H.265)" in message and "Most Compatible" in message and "another browser" in message
    page.select_option("#lang", "es")
    page.wait_for_function("() => document.documentElement.lang === 'es'")
    message = page.inner_text("#file-list li:first-child .message")
    assert "HEVC (H.265)" in message and "Más compatible" in message
    page.select_option("#lang", "en")
    page.click("#to-review")
    assert [name for name, _ in review_entries(page)] == [PHOTO.name]
    page.click("#submit")
    page.wait_for_selector("#screen-receipt:not([hidden])")
    sent = json.loads(recorder.non_get()[0].post_data_buffer)
    assert [item["media"] for item in sent["items"]] == ["image"]


def test_cancel_stops_a_video_and_the_next_file_goes_on(phone, tmp_path):
    long = make_video(tmp_path / "long.webm", "libvpx-vp9", seconds=400, fps=1)  # 200 frames to hash
    context, _ = phone
    page = context.new_page()
    open_app(page)
    page.click("#start")
    pick(page, [long], settle=False)
    page.wait_for_function("() => /Frame [1-9]\\d* of 200/.test(document.querySelector('#file-list li').innerText)")
    page.click("#cancel")
    page.wait_for_selector("#file-list li[data-state=error]")
    assert "Stopped" in page.inner_text("#file-list li")
    assert page.locator("#cancel").is_hidden()
    pick(page, [PHOTO])
    assert page.eval_on_selector_all("#file-list li", "els => els.map(e => e.dataset.state)") == ["error", "done"]
    page.click("#to-review")
    assert [name for name, _ in review_entries(page)] == [PHOTO.name]


@pytest.mark.parametrize("seconds", [10, 7])  # frames every 1/2 s and every 1/4 s (hashing.frame_times)
def test_a_portrait_phone_video_agrees_with_takeback_hash(phone, tmp_path, seconds):
    """A phone stores a portrait video landscape with a display matrix; the browser shows it
    upright and `takeback hash` turns it the same way, at the same frame times (a short clip's
    fall between whole seconds)."""
    from tests.clips import transcode

    mp4 = transcode(VIDEO, tmp_path / "portrait.mp4", "libx264", seconds=seconds, rotate=90)
    context, _ = phone
    page = context.new_page()
    open_app(page)
    page.click("#start")
    pick(page, [mp4])
    page.click("#to-review")
    (_, record), = review_entries(page)
    times = json.loads(page.get_attribute("#review-list li:first-child", "data-times"))
    browser = {round(t, 6): f[0].value for t, f in zip(times, video_frames(MediaRecord.from_json(record).hashes))}
    server = {t: frame[0] for t, frame in server_frames(mp4).items()}
    common = sorted(set(browser) & set(server))
    distances = collections.Counter(hamming(browser[t], server[t]) for t in common)
    print("\nportrait H.264 .mp4, PDQ bits differing per frame, Chromium vs takeback hash: %s" % dict(sorted(distances.items())))
    assert len(common) >= 0.9 * len(browser) >= 18 and max(distances) <= MAX_FRAME_BITS
