"""HEIC/HEIF (pillow-heif) and AVIF (Pillow) photos on the server and platform side.

Every file is made here, at test time, from corpus photos: HEIC with pillow-heif (x265), AVIF
with Pillow (libavif), a 10-bit AVIF and the videos with PyAV. The same rules as every other
photo: orientation applied, ICC not applied, transparency flattened onto white, Pillow's size
limit, the first (primary) image of several; and a photo is told from a video by its content,
never by its name.
"""
import io
import json
import multiprocessing
import re
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from hashing import HashValue, pdq_hash
from takeback.decode import DecodeError, heif_family, image_pixels, media_kind
from tests.corpus import CORPUS

pytestmark = pytest.mark.slow  # `make check` leaves these out

PHOTOS = CORPUS / "photos"
PHOTO = PHOTOS / "opencv__aloeL.jpg"
OTHER = PHOTOS / "tuxpaint__sheep.jpg"

# The PDQ of a HEIC or AVIF (quality 80) against the PDQ of the same pixels as PNG. Measured
# on all 68 corpus photos (pillow-heif 1.8.1 / libheif 1.23 / x265 4.3, Pillow 13 / libavif
# 1.4): 0 or 2 bits, never more, for both. 8 leaves a wide margin and is still far below a
# different photo (~128 bits) and below what a match allows (31).
NEAR = 8
# The 10- and 12-bit HEIC against the 8-bit HEIC of the same photo (quality 80): measured 0-2
# bits on 5 corpus photos.
NEAR_DEPTH = 8
# A lossless HEIC: 4:4:4, RGB stored as it is (no YCbCr matrix), x265 lossless. Decodes to
# exactly the pixels it was given, so orientation, transparency and ICC can be checked exactly.
LOSSLESS = {"quality": -1, "chroma": 444, "matrix_coefficients": 0}


def rgb(path, width=None):
    with Image.open(path) as im:
        im = im.convert("RGB")
    if width:
        im = im.resize((width, round(im.height * width / im.width)), Image.Resampling.BOX)
    return im


def encoded(im, fmt, **options):
    out = io.BytesIO()
    im.save(out, fmt, **options)
    return out.getvalue()


def write(folder, name, data):
    path = folder / name
    path.write_bytes(data)
    return path


def pixels_of(data):
    return image_pixels(io.BytesIO(data))


def array(pixels):
    return np.frombuffer(bytes(pixels.data), np.uint8).reshape(pixels.height, pixels.width, 4)


def pdq(data):
    return pdq_hash(pixels_of(data)).hash


def exif_bytes(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


@pytest.fixture(scope="module")
def small():
    """A corpus photo at 320 pixels wide: quick to encode losslessly and in eight orientations."""
    return rgb(PHOTO, 320)


# --- the same hash as the PNG ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["opencv__aloeL.jpg", "tuxpaint__sheep.jpg", "opencv__baboon.jpg"])
def test_heic_and_avif_hash_like_the_png(name):
    photo = rgb(PHOTOS / name)
    png = pdq(encoded(photo, "PNG"))
    heic, avif = encoded(photo, "HEIF", quality=80), encoded(photo, "AVIF", quality=80)
    assert heif_family(io.BytesIO(heic)) == "HEIF" and heif_family(io.BytesIO(avif)) == "AVIF"
    distances = pdq(heic) - png, pdq(avif) - png
    assert max(distances) <= NEAR, distances


def test_command_line_prints_an_image_record(tmp_path):
    photo = rgb(PHOTO)
    paths = [write(tmp_path, "IMG_0001.heic", encoded(photo, "HEIF", quality=80)),
             write(tmp_path, "photo.avif", encoded(photo, "AVIF", quality=80))]
    proc = subprocess.run([sys.executable, "-c", "from takeback.cli import main; main()", "hash", *map(str, paths)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["path"] for r in records] == [str(p) for p in paths]
    png = pdq(encoded(photo, "PNG"))
    for record, path in zip(records, paths):
        assert record["media"] == "image"
        types = {h["type"] for h in record["hashes"]}
        assert {"pdq", "pdq-window", "pdq-dihedral", "pdq-blocks", "md5", "sha256"} <= types
        value = next(HashValue.from_hex(h["value"]) for h in record["hashes"] if h["type"] == "pdq")
        assert value - png <= NEAR, path


# --- orientation ------------------------------------------------------------------------------

@pytest.mark.parametrize("orientation", range(1, 9))
def test_heic_orientation_is_applied_exactly_as_for_other_photos(small, orientation):
    # As a camera stores it: the sensor's pixels and the EXIF tag that says how to show them;
    # pillow-heif writes the tag's turn as HEIF's irot/imir too, as an iPhone does. The PNG
    # with the same pixels and tag is decoded by the rules every photo follows: the HEIC
    # (lossless) must give exactly the same pixels, and the JPEG nearly.
    stored = stored_for(small, orientation)
    tag = exif_bytes(orientation)
    heic = encoded(stored, "HEIF", exif=tag, **LOSSLESS)
    reference = array(pixels_of(encoded(stored, "PNG", exif=tag)))
    assert np.array_equal(reference[..., :3], np.asarray(small))  # the tag undoes the storing
    assert np.array_equal(array(pixels_of(heic)), reference)
    jpeg = array(pixels_of(encoded(stored, "JPEG", quality=95, exif=tag)))
    assert jpeg.shape == reference.shape and np.abs(jpeg.astype(int) - reference).mean() < 3
    avif = array(pixels_of(encoded(stored, "AVIF", quality=90, subsampling="4:4:4", exif=tag)))
    assert avif.shape == reference.shape and np.abs(avif.astype(int) - reference).mean() < 3


def stored_for(upright, orientation):
    """The pixels a camera stores for `upright` with this EXIF orientation (what
    ImageOps.exif_transpose undoes)."""
    T = Image.Transpose
    undo = {1: [], 2: [T.FLIP_LEFT_RIGHT], 3: [T.ROTATE_180], 4: [T.FLIP_TOP_BOTTOM],
            5: [T.TRANSPOSE], 6: [T.ROTATE_90], 7: [T.TRANSVERSE], 8: [T.ROTATE_270]}[orientation]
    for step in undo:
        upright = upright.transpose(step)
    return upright


def test_full_size_iphone_like_heic_turns_like_the_jpeg():
    # A grid of 512-pixel tiles (as an iPhone writes), tag 6: the same picture as the JPEG.
    photo = rgb(PHOTO)
    stored, tag = photo.transpose(Image.Transpose.ROTATE_90), exif_bytes(6)
    heic = encoded(stored, "HEIF", quality=80, exif=tag, tile_size=512)
    assert pillow_heif.open_heif(io.BytesIO(heic)).info.get("tiling")  # really a grid
    jpeg = encoded(stored, "JPEG", quality=95, exif=tag)
    assert (pixels_of(heic).width, pixels_of(heic).height) == photo.size
    assert pdq(heic) - pdq(jpeg) <= NEAR
    untagged = encoded(stored, "JPEG", quality=95)  # the stored pixels shown as they are
    assert pdq(untagged) - pdq(jpeg) > 64


def test_an_exif_tag_without_irot_is_not_applied(small):
    # HEIF's orientation is irot/imir; the EXIF tag only repeats it (an iPhone writes both). A
    # file whose EXIF says 6 but has no irot is shown as stored, as libheif, the HEIF
    # specification and Chromium (for AVIF) do; turning it would turn iPhone photos twice.
    heic = encoded(small, "HEIF", exif=exif_bytes(1), **LOSSLESS)
    entry = re.compile(rb"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x01")  # big-endian Orientation = 1
    assert len(entry.findall(heic)) == 1
    heic = entry.sub(b"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06", heic)
    assert pillow_heif.open_heif(io.BytesIO(heic)).info.get("exif")  # the tag says 6 now
    assert np.array_equal(array(pixels_of(heic))[..., :3], np.asarray(small))


@pytest.mark.parametrize("first", ["HEIF", "AVIF"])
def test_major_brand_mif1_goes_to_the_right_decoder(monkeypatch, small, first):
    # Both plugins accept a file whose major brand is the generic "mif1" (some cameras and
    # tools write that, with "heic" or "avif" among the compatible brands). Whichever Pillow
    # tries first, the content decides: libheif here cannot decode AV1, libavif not HEVC.
    Image.init()  # every plugin registered before the order is changed (and restored)
    order = [f for f in Image.ID if f not in ("HEIF", "AVIF")]
    monkeypatch.setattr(Image, "ID", [first, "AVIF" if first == "HEIF" else "HEIF", *order])
    for fmt in ("HEIF", "AVIF"):
        data = encoded(small, fmt, quality=80)
        assert data[8:12] in (b"heic", b"avif")
        generic = data[:8] + b"mif1" + data[12:]
        assert heif_family(io.BytesIO(generic)) == fmt
        assert pdq(generic) - pdq(encoded(small, "PNG")) <= NEAR


# --- several images ---------------------------------------------------------------------------

def test_a_burst_hashes_as_its_first_photo(tmp_path):
    first, second = rgb(PHOTO, 640), rgb(OTHER, 640)
    burst = encoded(first, "HEIF", save_all=True, append_images=[second], quality=80)
    with Image.open(io.BytesIO(burst)) as im:
        assert im.n_frames == 2
    alone = pdq(encoded(first, "HEIF", quality=80))
    assert pdq(burst) - alone <= NEAR
    assert pdq(burst) - pdq(encoded(second, "HEIF", quality=80)) > 64
    path = write(tmp_path, "burst.heic", burst)
    assert media_kind(path) == "image" and image_pixels(path).height == first.height != second.height
    # The image a HEIF names as its primary is the one viewers show: the second, here.
    primary_second = encoded(first, "HEIF", save_all=True, append_images=[second], quality=80, primary_index=1)
    assert pdq(primary_second) - pdq(encoded(second, "HEIF", quality=80)) <= NEAR


def test_an_animated_avif_hashes_as_its_first_frame():
    first = rgb(PHOTO, 640)
    second = rgb(OTHER, 640).resize(first.size)  # the frames of an animation share one size
    animated = encoded(first, "AVIF", save_all=True, append_images=[second], quality=80, duration=500)
    assert heif_family(io.BytesIO(animated)) == "AVIF"
    with Image.open(io.BytesIO(animated)) as im:
        assert im.n_frames == 2
    assert pdq(animated) - pdq(encoded(first, "PNG")) <= NEAR


# --- more than 8 bits -------------------------------------------------------------------------

def heic_16(im_or_array, bits, **options):
    """A HEIC of `bits` bits per sample from 16-bit samples (pillow-heif keeps their high bits)."""
    samples = np.asarray(im_or_array)
    if samples.dtype == np.uint8:
        samples = samples.astype(np.uint16) * 257  # 8 bits widened to 16, as exactly as can be
    channels = 1 if samples.ndim == 2 else samples.shape[2]
    mode = {1: "L;16", 3: "RGB;16", 4: "RGBA;16"}[channels]
    out = io.BytesIO()
    pillow_heif.from_bytes(mode, (samples.shape[1], samples.shape[0]), samples.tobytes()).save(
        out, bit_depth=bits, **options)
    return out.getvalue()


@pytest.mark.parametrize("bits", [10, 12])
def test_10_and_12_bit_heic_hash_like_the_8_bit_one(bits):
    photo = rgb(PHOTO)
    deep = heic_16(photo, bits, quality=80)
    assert pillow_heif.open_heif(io.BytesIO(deep)).info["bit_depth"] == bits
    eight = encoded(photo, "HEIF", quality=80)
    assert pdq(deep) - pdq(eight) <= NEAR_DEPTH
    assert pdq(deep) - pdq(encoded(photo, "PNG")) <= NEAR
    # Converted to RGB at full precision, then the high bits: nearer the photo than libheif's
    # own 8-bit output (Y, Cb and Cr cut to 8 bits first, then converted). Measured at quality
    # 80 on 5 corpus photos: 0.67-3.80 levels off on average against 0.88-3.86 (this photo:
    # 1.02 against 1.16 for 10 bits, 1.01 against 1.22 for 12).
    source = np.asarray(photo).astype(int)
    ours = array(pixels_of(deep))[..., :3].astype(int)
    with Image.open(io.BytesIO(deep)) as im:
        libheifs = np.asarray(im.convert("RGB")).astype(int)
    assert np.abs(ours - source).mean() < np.abs(libheifs - source).mean()


@pytest.mark.parametrize("bits", [10, 12])
def test_high_bits_are_kept(bits):
    # Every value of the depth, stored losslessly: each decodes to its high 8 bits, the same in
    # red, green and blue. (pillow-heif's own 8-bit output shifts Y/Cb/Cr before converting;
    # here RGB is stored as it is, so that path would agree, but photos are YCbCr.)
    values = np.arange(1 << bits, dtype=np.uint16)
    width = 1024
    ramp = np.resize(values, (len(values) // width, width))
    samples = np.repeat((ramp << (16 - bits))[..., None], 3, axis=2)
    got = array(pixels_of(heic_16(samples, bits, **LOSSLESS)))
    expected = (ramp >> (bits - 8)).astype(np.uint8)
    for channel in range(3):
        assert np.array_equal(got[..., channel], expected)
    assert (got[..., 3] == 255).all()


def test_10_bit_grey_and_alpha(small):
    # Grey: pillow-heif gives Pillow a 16-bit "I;16" image, which Pillow's convert("RGB")
    # clips to white; the high bits keep the picture.
    grey = np.asarray(small.convert("L"))
    got = array(pixels_of(heic_16(grey, 10, **LOSSLESS)))
    assert np.array_equal(got[..., 0], grey) and np.array_equal(got[..., 2], grey)
    # Alpha: left half transparent, right half opaque: white on the left, the photo on the right.
    rgba = np.dstack([np.asarray(small), np.full(grey.shape, 255, np.uint8)])
    half = small.width // 2
    rgba[:, :half, 3] = 0
    got = array(pixels_of(heic_16(rgba, 10, **LOSSLESS)))
    assert (got[:, :half, :3] == 255).all()
    assert np.array_equal(got[:, half:, :3], np.asarray(small)[:, half:])


def write_10_bit_avif(photo_path, path):
    """SVT-AV1, which makes the only 10-bit AVIF here, switches the thread that opens it to
    real-time scheduling when run as root: run in a child process, so that pytest (and the
    browsers it starts) keep normal scheduling."""
    import av

    photo = rgb(photo_path)
    photo = photo.crop((0, 0, photo.width // 2 * 2, photo.height // 2 * 2))
    with av.open(str(path), "w", format="avif") as container:
        stream = container.add_stream("libsvtav1", rate=1)
        stream.width, stream.height, stream.pix_fmt = photo.width, photo.height, "yuv420p10le"
        stream.options = {"crf": "20"}
        frame = av.VideoFrame.from_ndarray(np.asarray(photo), format="rgb24").reformat(format="yuv420p10le")
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return photo.size


def test_10_bit_avif(tmp_path):
    av = pytest.importorskip("av")
    if "libsvtav1" not in av.codecs_available or "avif" not in av.formats_available:
        pytest.skip("this PyAV cannot write AV1 into AVIF")
    path = tmp_path / "deep.avif"
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
        size = child.submit(write_10_bit_avif, PHOTO, path).result(timeout=120)
    photo = rgb(PHOTO).crop((0, 0, *size))
    data = path.read_bytes()
    assert heif_family(path) == "AVIF" and b"pixi" in data
    assert media_kind(path) == "image"
    assert pdq(data) - pdq(encoded(photo, "PNG")) <= NEAR


# --- transparency, ICC, size limit ------------------------------------------------------------

def test_transparency_is_flattened_onto_white(small):
    with Image.open(PHOTOS / "opencv__graf1.png") as im:
        alpha = im.convert("L").resize(small.size)
    rgba = small.convert("RGBA")
    rgba.putalpha(alpha)
    reference = array(pixels_of(encoded(rgba, "PNG")))
    assert np.array_equal(array(pixels_of(encoded(rgba, "HEIF", **LOSSLESS))), reference)
    avif = array(pixels_of(encoded(rgba, "AVIF", quality=95, subsampling="4:4:4")))
    assert np.abs(avif.astype(int) - reference).mean() < 3
    assert (reference[..., 3] == 255).all()


def test_icc_profile_is_not_applied(small):
    with Image.open(CORPUS / "pdq-reference" / "misc" / "pen-and-coaster.png") as im:
        icc = im.info["icc_profile"]  # Apple's "Display" (P3): applying it would change the pixels
    from PIL import ImageCms

    applied = ImageCms.profileToProfile(small, ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                        ImageCms.createProfile("sRGB"))
    assert np.abs(np.asarray(applied).astype(int) - np.asarray(small)).max() > 8
    heic = encoded(small, "HEIF", icc_profile=icc, **LOSSLESS)
    assert Image.open(io.BytesIO(heic)).info.get("icc_profile") == icc
    assert np.array_equal(array(pixels_of(heic))[..., :3], np.asarray(small))
    avif, plain = encoded(small, "AVIF", quality=90, icc_profile=icc), encoded(small, "AVIF", quality=90)
    assert Image.open(io.BytesIO(avif)).info.get("icc_profile") == icc
    assert np.array_equal(array(pixels_of(avif)), array(pixels_of(plain)))


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF", "HEIF 10-bit"])
def test_too_many_pixels(monkeypatch, small, fmt):
    data = heic_16(small, 10, quality=50) if fmt == "HEIF 10-bit" else encoded(small, fmt.split()[0], quality=50)
    pixels = small.width * small.height
    for limit in (pixels // 3, pixels - 1):  # beyond twice the limit: an error; beyond it: a warning
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
        with pytest.raises(DecodeError, match="too many pixels"):
            pixels_of(data)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pixels)
    assert pixels_of(data).width == small.width


# --- a photo is never taken for a video, nor the reverse ---------------------------------------

def video(path, codec, pix_fmt="yuv420p", frames=30):
    av = pytest.importorskip("av")
    if codec not in av.codecs_available:
        pytest.skip("this PyAV has no %s encoder" % codec)
    picture = np.asarray(rgb(PHOTO, 320).crop((0, 0, 320, 240)))
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, pix_fmt
        stream.time_base = Fraction(1, 10)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.roll(picture, 4 * i, axis=1).copy(), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kinds")
    photo = rgb(PHOTO, 640)
    heic, avif = encoded(photo, "HEIF", quality=80), encoded(photo, "AVIF", quality=80)
    made = {
        "IMG_0001.heic": heic, "heic-named.jpg": heic, "heic-named.mp4": heic, "heic-named.mov": heic,
        "heic-named.txt": heic, "avif-named.mp4": avif, "avif-named.png": avif,
        "png-named.heic": encoded(photo, "PNG"), "jpeg-named.avif": encoded(photo, "JPEG", quality=90),
    }
    paths = {name: write(folder, name, data) for name, data in made.items()}
    paths["png"] = write(folder, "photo.png", made["png-named.heic"])
    return folder, paths


@pytest.mark.parametrize("name", ["IMG_0001.heic", "heic-named.jpg", "heic-named.mp4", "heic-named.mov",
                                  "heic-named.txt", "avif-named.mp4", "avif-named.png", "png-named.heic",
                                  "jpeg-named.avif"])
def test_photos_are_images_whatever_their_name(files, name):
    _, paths = files
    assert media_kind(paths[name]) == "image"
    assert pdq_hash(image_pixels(paths[name])).hash - pdq_hash(image_pixels(paths["png"])).hash <= NEAR


@pytest.mark.parametrize("name,codec", [
    ("h264.mov", "libx264"), ("hevc.mov", "libx265"), ("h264.mp4", "libx264"), ("hevc.mp4", "libx265"),
    ("vp9.webm", "libvpx-vp9"), ("mp4-named.heic", "libx264"), ("mov-named.avif", "libx265"),
])
def test_videos_are_still_videos(tmp_path, name, codec):
    suffix = {"mp4-named.heic": ".mp4", "mov-named.avif": ".mov"}.get(name, "")
    path = video(tmp_path / (name + suffix), codec)
    if suffix:
        path = path.rename(tmp_path / name)
    assert heif_family(path) is None
    assert media_kind(path) == "video"


def test_an_iphone_heic_was_a_video_to_ffmpeg(files):
    # The bug this fixes: FFmpeg opens the HEIC container and finds a "video" in it.
    av = pytest.importorskip("av")
    _, paths = files
    with av.open(str(paths["heic-named.mp4"])) as container:
        assert container.streams.video
    assert media_kind(paths["heic-named.mp4"]) == "image"


# --- damaged files get a clear error -----------------------------------------------------------

def box(kind, payload=b""):
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


FTYP = box(b"ftyp", b"heic" + b"\0\0\0\0" + b"mif1heic")
EMPTY_META = box(b"meta", b"\0\0\0\0" + box(b"hdlr", b"\0" * 8 + b"pict" + b"\0" * 13))


@pytest.mark.parametrize("cut", [0.9, 0.5, 0.02, 64])
def test_a_truncated_heic_gets_a_clear_error(tmp_path, cut):
    data = encoded(rgb(PHOTO, 640), "HEIF", quality=80)
    path = write(tmp_path, "cut.heic", data[:cut if isinstance(cut, int) else int(len(data) * cut)])
    assert media_kind(path) == "image"
    with pytest.raises(DecodeError, match="^HEIF file is truncated"):
        image_pixels(path)


def test_a_truncated_avif_gets_a_clear_error(tmp_path):
    data = encoded(rgb(PHOTO, 640), "AVIF", quality=80)
    path = write(tmp_path, "cut.avif", data[:len(data) // 2])
    assert media_kind(path) == "image"
    with pytest.raises(DecodeError, match="^AVIF file is truncated"):
        image_pixels(path)


@pytest.mark.parametrize("data", [FTYP, FTYP + EMPTY_META, FTYP + box(b"free", b"\0" * 100)],
                         ids=["ftyp-only", "empty-meta", "no-meta"])
def test_a_heif_with_no_image_gets_a_clear_error(tmp_path, data):
    path = write(tmp_path, "empty.heic", data)
    assert media_kind(path) == "image"
    with pytest.raises(DecodeError, match="^HEIF file has no image in it"):
        image_pixels(path)


def test_damaged_heic_and_avif_never_raise_anything_else(small):
    # Bytes overwritten here and there: each file decodes (the codecs conceal errors) or gets a
    # DecodeError; nothing else escapes.
    rng = np.random.default_rng(17)
    for fmt in ("HEIF", "AVIF"):
        data = encoded(small, fmt, quality=60)
        for _ in range(12):
            damaged = bytearray(data)
            for i in rng.integers(0, len(data), 20):
                damaged[i] = int(rng.integers(0, 256))
            try:
                pixels_of(bytes(damaged))
            except DecodeError:
                pass


def test_command_line_reports_bad_heic_and_goes_on(tmp_path):
    good = write(tmp_path, "good.heic", encoded(rgb(PHOTO, 640), "HEIF", quality=80))
    cut = write(tmp_path, "cut.heic", good.read_bytes()[:5000])
    empty = write(tmp_path, "empty.heic", FTYP + EMPTY_META)
    shutil.copy(good, tmp_path / "good.mp4")
    proc = subprocess.run([sys.executable, "-c", "from takeback.cli import main; main()", "hash",
                           str(cut), str(empty), str(tmp_path / "good.mp4")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert [json.loads(line)["media"] for line in proc.stdout.splitlines()] == ["image"]
    errors = proc.stderr.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith("takeback hash: %s: HEIF file is truncated" % cut)
    assert errors[1].startswith("takeback hash: %s: HEIF file has no image in it" % empty)
