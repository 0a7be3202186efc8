"""Files that are not photos get a clear message; the others go on; nothing is sent."""
import struct
import zlib

from .conftest import PHOTOS, open_app, pick, review_entries


def png(width, height, raw_rows):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw_rows)) + chunk(b"IEND", b"")


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
