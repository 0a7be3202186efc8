"""Files that are not photos get a clear message; the others go on; nothing is sent."""
import json
import struct
import subprocess
import zlib

from tests.test_decode_heic import EMPTY_META, FTYP, encoded, rgb

from .conftest import CORPUS, PHOTOS, open_app, pick, review_entries


def png(width, height, raw_rows, idat=None):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(raw_rows) if idat is None else idat
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def black_png(width, height, rows=None):
    """An RGB PNG of `width` x `height` declared, with `rows` rows of zeros compressed (all by
    default: 10000 x 10000 makes 0.3 MB; fewer: a small file declaring a huge picture)."""
    c = zlib.compressobj(9)
    row = bytes(1 + 3 * width)
    return png(width, height, b"", b"".join(c.compress(row) for _ in range(height if rows is None else rows)) + c.flush())


def test_bad_files_give_a_message_and_no_submission(phone, tmp_path):
    bad = {
        "notes.jpg": b"These are my notes, not a photo.\n" * 20,
        "empty.jpg": b"",
        "zero.png": png(0, 0, b""),
        "tiny.png": png(3, 3, b"".join(b"\x00" + b"\x80\x40\x20" * 3 for _ in range(3))),
    }
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)

    context, recorder = phone
    page = context.new_page()
    open_app(page)
    page.click("#start")
    pick(page, [tmp_path / name for name in bad])
    rows = page.eval_on_selector_all(
        "#file-list li", "els => els.map(e => [e.dataset.name, e.dataset.state, e.querySelector('.message').textContent])"
    )
    assert [(n, s) for n, s, _ in rows] == [(n, "error") for n in bad]
    messages = {n: m for n, _, m in rows}
    assert "cannot be opened" in messages["notes.jpg"]
    assert "empty" in messages["empty.jpg"]
    assert "cannot be opened" in messages["zero.png"]
    assert "too small" in messages["tiny.png"]
    assert page.locator("#to-review").is_disabled()

    # A good photo picked after them is hashed as usual, and only it would be sent.
    pick(page, [PHOTOS / "opencv__orange.jpg"])
    assert page.locator("#file-list li[data-state=done]").count() == 1
    page.click("#to-review")
    assert [name for name, _ in review_entries(page)] == ["opencv__orange.jpg"]
    assert recorder.non_get() == []


def declaring(data, marker, offset, size):
    """`data` with the 2 x `size`-byte width and height after `marker` (+ offset) set to 60000."""
    at = data.index(marker) + offset
    big = (60000).to_bytes(size, "big")
    return data[:at] + big + big + data[at + 2 * size:]


# Records the size of every Blob the page hands to createImageBitmap (before the page's own script).
COUNT_BITMAPS = """
(() => {
  const original = window.createImageBitmap;
  window.bitmapSizes = [];
  window.createImageBitmap = function (source, ...rest) {
    if (source instanceof Blob) window.bitmapSizes.push(source.size);
    return original.call(this, source, ...rest);
  };
})();
"""


def mixed_files(tmp_path):
    """{name: bytes}: seven bad files (damaged, empty, too large, bombs), then three good ones
    whose names lie or not; written into tmp_path too."""
    small = rgb(PHOTOS / "opencv__aloeL.jpg", 640)
    heic = encoded(small, "HEIF", quality=80)
    jpeg = encoded(small, "JPEG", quality=80)
    clip = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-t", "2", "-i", str(CORPUS / "videos" / "bikes.mp4"),
                    "-an", "-c:v", "libx264", "-preset", "veryfast", "-vf", "scale=320:-2", str(clip)], check=True)
    files = {
        "cut.heic": heic[:len(heic) // 2],  # ends before its data does
        "nothing.heic": FTYP + EMPTY_META,  # a HEIF with no image in it
        "zero.heic": b"",
        "huge.png": black_png(10000, 10000),  # 100 megapixels
        "bomb.png": black_png(30000, 30000, rows=2),  # a tiny file declaring 900 megapixels
        "bomb.jpg": declaring(jpeg, b"\xff\xc0", 5, 2),  # its frame header says 60000 x 60000
        "bomb.heic": declaring(heic, b"ispe", 8, 4),  # so does its primary image's 'ispe'
        "png-named.heic": (PHOTOS / "opencv__graf1.png").read_bytes(),  # a photo, whatever its name
        "video-named.jpg": clip.read_bytes(),  # a video, whatever its name
        "photo.jpg": (PHOTOS / "opencv__orange.jpg").read_bytes(),
    }
    assert len(files["huge.png"]) < 400_000 and len(files["bomb.png"]) < 1000
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return files


def test_photos_and_videos_by_content_and_bad_files_refused(phone, tmp_path):
    files = mixed_files(tmp_path)
    context, recorder = phone
    context.add_init_script(COUNT_BITMAPS)
    page = context.new_page()
    open_app(page)
    page.click("#start")
    pick(page, [tmp_path / name for name in files])
    rows = page.eval_on_selector_all(
        "#file-list li", "els => els.map(e => [e.dataset.name, e.dataset.state, e.querySelector('.message').textContent])")
    states = {n: s for n, s, _ in rows}
    messages = {n: m for n, _, m in rows}
    assert states == {**{n: "error" for n in list(files)[:7]}, **{n: "done" for n in list(files)[7:]}}, messages
    assert "incomplete or damaged" in messages["cut.heic"]
    assert "incomplete or damaged" in messages["nothing.heic"]
    assert "empty" in messages["zero.heic"]
    for name in ("huge.png", "bomb.png", "bomb.jpg", "bomb.heic"):
        assert "too large" in messages[name], name
    # Refused by the size in their headers: never handed to the browser's decoder (nor libheif).
    sizes = page.evaluate("() => window.bitmapSizes")
    assert len(files["png-named.heic"]) in sizes
    assert not {len(files[n]) for n in ("huge.png", "bomb.png", "bomb.jpg", "bomb.heic")} & set(sizes)
    assert recorder.non_get() == []

    page.click("#to-review")
    entries = review_entries(page)
    assert [(name, record["media"]) for name, record in entries] == [
        ("png-named.heic", "image"), ("video-named.jpg", "video"), ("photo.jpg", "image")]
    assert recorder.non_get() == []
    page.click("#submit")
    page.wait_for_selector("#screen-receipt:not([hidden])")
    (post,) = recorder.non_get()
    sent = json.loads(post.post_data_buffer)
    assert [item["media"] for item in sent["items"]] == ["image", "video", "image"]
    assert sent["items"] == [record for _, record in entries]
