"""`takeback hash`: Pillow decoding with the browser's rules, one JSON line per file."""
import hashlib
import json
import subprocess
import sys

import pytest
from PIL import Image

from hashing import HashValue
from tests.corpus import CORPUS

PHOTO = CORPUS / "photos" / "opencv__aloeL.jpg"


def takeback(*args):
    return subprocess.run(
        [sys.executable, "-c", "from takeback.cli import main; main()", *map(str, args)],
        capture_output=True, text=True, timeout=300,
    )


def test_prints_one_record_per_file():
    other = CORPUS / "photos" / "opencv__graf1.png"
    proc = takeback("hash", PHOTO, other)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["path"] for line in lines] == [str(PHOTO), str(other)]
    first = lines[0]
    assert set(first) == {"path", "media", "hashes"} and first["media"] == "image"
    by_type = {h["type"]: h for h in first["hashes"]}
    assert set(by_type) == {"pdq", "pdq-window", "pdq-dihedral", "pdq-blocks", "pdq-pair-blocks", "md5", "sha256"}
    assert [h["type"] for h in first["hashes"]].count("pdq-dihedral") == 3  # the quarter turns
    assert by_type["md5"]["value"] == hashlib.md5(PHOTO.read_bytes()).hexdigest()
    assert by_type["sha256"]["value"] == hashlib.sha256(PHOTO.read_bytes()).hexdigest()
    assert 0 <= by_type["pdq"]["quality"] <= 100


def test_bad_files_get_an_error_and_the_rest_are_hashed(tmp_path):
    text = tmp_path / "note.jpg"
    text.write_text("not a photo")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (3, 3), "red").save(tiny)
    proc = takeback("hash", text, tmp_path / "missing.jpg", PHOTO, empty, tiny)
    assert proc.returncode == 1
    assert [json.loads(line)["path"] for line in proc.stdout.splitlines()] == [str(PHOTO)]
    errors = proc.stderr.splitlines()
    assert len(errors) == 4
    assert "not an image" in errors[0]
    assert "missing.jpg: no such file" in errors[1]
    assert "at least 5x5" in errors[3]


def pdq_of(path):
    proc = takeback("hash", path)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    return next(HashValue.from_hex(h["value"]) for h in record["hashes"] if h["type"] == "pdq")


def test_exif_orientation_is_applied(tmp_path):
    # The photo stored turned a quarter, with the EXIF tag (6) that tells viewers to turn it
    # back: the browser shows it upright, so it must hash like the upright photo.
    with Image.open(PHOTO) as im:
        upright = im.convert("RGB")
    upright.save(tmp_path / "upright.jpg", quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "tagged.jpg", quality=95, exif=exif)
    tagged, plain = pdq_of(tmp_path / "tagged.jpg"), pdq_of(tmp_path / "upright.jpg")
    assert tagged - plain <= 8
    exif[0x0112] = 1  # the same pixels, tagged as already upright: a different picture
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "untagged.jpg", quality=95, exif=exif)
    assert pdq_of(tmp_path / "untagged.jpg") - plain > 64


def test_transparency_is_flattened_onto_white(tmp_path):
    # Alpha varies across the picture (another photo's brightness), so the background shows.
    with Image.open(PHOTO) as im:
        rgb = im.convert("RGB")
    with Image.open(CORPUS / "photos" / "opencv__graf1.png") as im:
        alpha = im.convert("L").resize(rgb.size)
    rgba = rgb.convert("RGBA")
    rgba.putalpha(alpha)
    rgba.save(tmp_path / "alpha.png")
    for colour in ("white", "black"):
        flat = Image.new("RGB", rgb.size, colour)
        flat.paste(rgb, (0, 0), alpha)
        flat.save(tmp_path / ("%s.png" % colour))
    on_white = pdq_of(tmp_path / "white.png")
    assert pdq_of(tmp_path / "alpha.png") - on_white <= 2
    assert pdq_of(tmp_path / "black.png") - on_white > 31


@pytest.mark.parametrize("name", ["P.png", "LA.png", "CMYK.jpg", "PA.webp", "1.png", "YCbCr.jpg"])
def test_odd_colour_modes_decode(name):
    pdq_of(CORPUS / "pdq-reference" / "misc" / name)


def test_query_records_and_compare(tmp_path):
    # Enrolled: two photos. Queries: a copy turned a quarter, a copy cut to the photo's middle
    # 80% (one of the enrolled windows) and an unrelated photo.
    with Image.open(PHOTO) as im:
        im = im.convert("RGB")
    im.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "turned.jpg", quality=90)
    w, h = im.size
    im.crop((w // 10, h // 10, w - w // 10, h - h // 10)).save(tmp_path / "crop.jpg", quality=90)
    other = CORPUS / "photos" / "opencv__graf1.png"
    unrelated = CORPUS / "photos" / "tuxpaint__sheep.jpg"
    enrolled = takeback("hash", PHOTO, other)
    assert enrolled.returncode == 0, enrolled.stderr
    (tmp_path / "e.jsonl").write_text(enrolled.stdout)
    queries = [tmp_path / "turned.jpg", tmp_path / "crop.jpg", unrelated]
    query = takeback("hash", "--query", *queries)
    assert query.returncode == 0, query.stderr
    records = [json.loads(line) for line in query.stdout.splitlines()]
    for r in records:  # the query side is small: PDQ, at most 8 robust hashes, the digests
        assert sum(h["type"] in ("pdq-window", "pdq-blocks", "pdq-pair-blocks") for h in r["hashes"]) <= 8
        assert {h["type"] for h in r["hashes"]} == {"pdq", "pdq-window", "pdq-blocks", "pdq-pair-blocks", "md5", "sha256"}
    (tmp_path / "q.jsonl").write_text(query.stdout)
    proc = takeback("compare", "--enrolled", tmp_path / "e.jsonl", "--query", tmp_path / "q.jsonl")
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["path"] for o in out] == [str(q) for q in queries]
    turned, crop, none = (o["matches"] for o in out)
    assert [m["path"] for m in turned] == [str(PHOTO)] and turned[0]["evidence"]["type"] == "pdq-dihedral"
    assert [m["path"] for m in crop] == [str(PHOTO)] and crop[0]["evidence"]["type"] == "pdq-window"
    assert none == []


def test_compare_rejects_a_bad_line(tmp_path):
    (tmp_path / "e.jsonl").write_text('{"path": "a.jpg", "media": "image", "hashes": [{"type": "pdq", "value": "ab"}]}\n')
    (tmp_path / "q.jsonl").write_text("")
    proc = takeback("compare", "--enrolled", tmp_path / "e.jsonl", "--query", tmp_path / "q.jsonl")
    assert proc.returncode != 0
    assert "e.jsonl line 1" in proc.stderr and "64 hex digits" in proc.stderr


def png_declaring(width, height, rows=None):
    """A PNG of `width` x `height` grey pixels whose rows are all zero: tiny on disk however
    large it says it is (only the first `rows` rows are written: a decoder must stop at the
    header, or fail on the missing data)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = height if rows is None else rows
    packer = zlib.compressobj(9)
    line = b"\0" * (width + 1)
    data = b"".join(packer.compress(line) for _ in range(rows)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def test_huge_images_and_bombs_are_refused_before_decoding(tmp_path):
    # A real 100-megapixel PNG (10000 x 10000, 96 KB on disk), and a 900-megapixel "bomb" that
    # declares 30000 x 30000 with one row of data: both past Pillow's limit (about 89 MP, a
    # 3 x 3 GB RGBA buffer avoided); the photo after them is still hashed.
    (tmp_path / "100mp.png").write_bytes(png_declaring(10000, 10000))
    (tmp_path / "bomb.png").write_bytes(png_declaring(30000, 30000, rows=1))
    proc = takeback("hash", tmp_path / "100mp.png", tmp_path / "bomb.png", PHOTO)
    assert proc.returncode == 1
    assert [json.loads(line)["path"] for line in proc.stdout.splitlines()] == [str(PHOTO)]
    errors = proc.stderr.splitlines()
    assert len(errors) == 2 and all("too many pixels to decode safely" in e for e in errors), errors
