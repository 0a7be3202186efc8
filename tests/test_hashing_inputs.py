"""Bad input raises a clear error; it never yields a wrong hash."""
import hashlib

import pytest

from hashing import FileDigests, PdqError, Pixels, PixelsError, digest_chunks, image_record, pdq_hash


@pytest.mark.parametrize("width,height", [(0, 10), (10, 0), (-1, 10), (10, -5), (0, 0)])
def test_zero_or_negative_size(width, height):
    with pytest.raises(PixelsError, match="must be positive"):
        Pixels(width, height, b"", "RGBA")


@pytest.mark.parametrize("width,height", [(10.0, 10), ("10", 10), (True, 10)])
def test_size_must_be_an_integer(width, height):
    with pytest.raises(PixelsError, match="must be an integer"):
        Pixels(width, height, bytes(400), "RGBA")


@pytest.mark.parametrize("mode,length", [("RGBA", 399), ("RGBA", 401), ("RGB", 400), ("L", 300), ("RGB", 0)])
def test_buffer_length_must_be_width_times_height_times_channels(mode, length):
    with pytest.raises(PixelsError, match="needs"):
        Pixels(10, 10, bytes(length), mode)


@pytest.mark.parametrize("mode", ["CMYK", "rgba", "", None, "P"])
def test_unknown_mode(mode):
    with pytest.raises(PixelsError, match="unknown pixel mode"):
        Pixels(10, 10, bytes(400), mode)


def test_data_must_be_bytes():
    with pytest.raises(PixelsError, match="must be bytes"):
        Pixels(2, 2, [0] * 16, "RGBA")


@pytest.mark.parametrize("width,height", [(4, 100), (100, 4), (1, 1), (4, 4)])
def test_below_pdq_minimum_size(width, height):
    pixels = Pixels(width, height, bytes(width * height * 4), "RGBA")
    with pytest.raises(PdqError, match="at least 5x5"):
        pdq_hash(pixels)


def test_pdq_takes_pixels_only():
    with pytest.raises(PdqError, match="takes a Pixels"):
        pdq_hash(b"\x00" * 100)


def test_smallest_hashable_image():
    pixels = Pixels(5, 5, bytes(range(75)), "RGB")
    assert pdq_hash(pixels).hash.bits == 256


def test_modes_agree_on_the_same_picture():
    # One picture handed over as RGBA, RGB and L (grey) must hash alike.
    w, h = 97, 61
    grey = bytes((x * 7 + y * 3 + (x * y) % 13) % 256 for y in range(h) for x in range(w))
    rgb = bytes(v for g in grey for v in (g, g, g))
    rgba = bytes(v for g in grey for v in (g, g, g, 255))
    hashes = {pdq_hash(Pixels(w, h, data, mode)).hash for data, mode in ((grey, "L"), (rgb, "RGB"), (rgba, "RGBA"))}
    assert len(hashes) == 1


def test_alpha_is_ignored():
    w, h = 40, 30
    rgb = bytes((i * 37) % 256 for i in range(w * h * 3))
    opaque = bytearray(w * h * 4)
    clear = bytearray(w * h * 4)
    for dst, alpha in ((opaque, 255), (clear, 0)):
        dst[0::4], dst[1::4], dst[2::4] = rgb[0::3], rgb[1::3], rgb[2::3]
        dst[3::4] = bytes([alpha]) * (w * h)
    assert pdq_hash(Pixels(w, h, bytes(opaque))).hash == pdq_hash(Pixels(w, h, bytes(clear))).hash


def test_flat_image_is_weak():
    result = pdq_hash(Pixels(64, 64, bytes([128]) * (64 * 64 * 4)))
    assert result.quality == 0
    record = image_record(Pixels(64, 64, bytes([128]) * (64 * 64 * 4)), digest_chunks([b"x"]))
    assert record.of_type("pdq")[0].weak


@pytest.mark.parametrize("chunk_size", [1, 7, 4096, 1 << 20])
def test_digests_in_chunks_equal_whole_file(chunk_size):
    data = bytes(range(256)) * 1000 + b"tail"
    chunks = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)]
    assert digest_chunks(chunks) == {"md5": hashlib.md5(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest()}


def test_digests_of_nothing():
    assert digest_chunks([])["sha256"] == hashlib.sha256(b"").hexdigest()


def test_digest_chunk_must_be_bytes():
    with pytest.raises(TypeError):
        FileDigests().update("text")
