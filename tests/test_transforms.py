"""The edits of `make eval-robustness` (tests/transforms.py) do what their names say.

Small synthetic images, no corpus. Noise images make every changed pixel show: an overlay,
a caption or a crop cannot hide in a flat area.
"""
import math
import random

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests import transforms
from tests.transforms import EMOJI_FONT, TRANSFORMS

needs_emoji_font = pytest.mark.skipif(
    not EMOJI_FONT.exists(),
    reason="%s is missing (Debian's fonts-noto-color-emoji; `make eval-robustness` installs it)" % EMOJI_FONT)


def noise(size=(240, 180), seed=0):
    return Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))


def changed(a, b):
    """Share of pixels that differ between two images of the same size."""
    return np.any(np.asarray(a) != np.asarray(b), axis=2).mean()


def position_in(part, whole):
    """(x, y) where `part` is an exact sub-image of `whole`, or None."""
    p, w = np.asarray(part), np.asarray(whole)
    for y in range(w.shape[0] - p.shape[0] + 1):
        for x in range(w.shape[1] - p.shape[1] + 1):
            # The 4x4 corner first: a cheap test that rules out almost every position.
            if np.array_equal(w[y:y + 4, x:x + 4], p[:4, :4]) and np.array_equal(
                    w[y:y + p.shape[0], x:x + p.shape[1]], p):
                return x, y
    return None


def by_name(name):
    return next(t for t in TRANSFORMS if t.name == name)


def test_families_and_names():
    assert len({t.name for t in TRANSFORMS}) == len(TRANSFORMS)
    assert transforms.FAMILIES == [
        "re-encoding", "resizing", "borders/screenshot", "rotations/flips", "small rotations", "crops <=30%",
        "crops 40%", "overlays <=20%", "captions", "filters", "combinations"]


@pytest.mark.parametrize("removed", [10, 20, 30, 40])
@pytest.mark.parametrize("where", ["centred", "off-centre", "aspect"])
def test_crop_keeps_the_rest_of_the_area_and_lies_inside(removed, where):
    original = noise()
    for seed in range(3):
        copy = by_name("crop %d%% %s" % (removed, where)).apply(original, "photo/%d" % seed)
        kept = copy.width * copy.height / (original.width * original.height)
        assert abs(kept - (1 - removed / 100)) <= 0.02
        assert position_in(copy, original) is not None
        aspect_change = abs(math.log((copy.width / copy.height) / (original.width / original.height)))
        if where == "aspect":
            assert aspect_change > 0.04  # the shape changes visibly
        else:
            assert aspect_change < 0.02


def test_centred_crop_is_centred_and_off_centre_crops_move():
    original = noise()
    x, y = position_in(by_name("crop 30% centred").apply(original, "a"), original)
    copy = by_name("crop 30% centred").apply(original, "a")
    assert abs(2 * x + copy.width - original.width) <= 1 and abs(2 * y + copy.height - original.height) <= 1
    positions = {position_in(by_name("crop 30% off-centre").apply(original, s), original) for s in "abcdef"}
    assert len(positions) > 1


@pytest.mark.parametrize("kind", [pytest.param("emoji", marks=needs_emoji_font), "sticker", "photo patch"])
@pytest.mark.parametrize("share", [5, 10, 20])
def test_overlay_covers_its_share(kind, share):
    original, donor = noise(seed=1), noise((300, 200), seed=2)
    for seed in range(6):
        copy = by_name("%s %d%%" % (kind, share)).apply(original, "photo/%d" % seed, donor)
        assert copy.size == original.size
        assert abs(changed(copy, original) - share / 100) <= 0.02


@needs_emoji_font
def test_emoji_are_real_colour_emoji():
    glyph = transforms.emoji_glyph("\U0001F600")
    assert glyph.mode == "RGBA" and transforms.covered_pixels(glyph) > 5000
    colours = glyph.convert("RGB").getcolors(1 << 16)
    assert colours is not None and len(colours) > 50  # a coloured bitmap, not a one-colour outline


def test_meme_caption_changes_only_the_top_and_bottom():
    original = noise((240, 240))
    copy = by_name("meme caption").apply(original, "photo/x")
    rows = np.any(np.asarray(copy) != np.asarray(original), axis=(1, 2))
    h = original.height
    assert not rows[int(0.25 * h):int(0.75 * h)].any()
    assert rows[:int(0.25 * h)].any() and rows[int(0.75 * h):].any()


def test_caption_bars_add_bands_and_keep_the_photo():
    original = noise()
    copy = by_name("caption bars").apply(original, "photo/x")
    assert copy.width == original.width
    x, top = position_in(original, copy)
    bottom = copy.height - top - original.height
    assert x == 0
    for bar in (top, bottom):
        assert 0.10 * original.height - 1 <= bar <= 0.20 * original.height + 1
    bars = np.concatenate([np.asarray(copy)[:top], np.asarray(copy)[top + original.height:]])
    assert (bars == 255).all(axis=2).mean() > 0.5 and (bars < 100).all(axis=2).any()  # white, with black text


def test_small_rotation_crop_has_no_corners_and_expand_keeps_them():
    white = Image.new("RGB", (240, 180), "white")
    for degrees in (2, 3, 5):
        cropped = by_name("rotate -%d° crop" % degrees).apply(white, "x")
        assert np.asarray(cropped).min() > 240
        kept = cropped.width * cropped.height / (240 * 180)
        assert 0.75 < kept < 1
        expanded = by_name("rotate +%d° expand" % degrees).apply(white, "x")
        assert expanded.width > 240 and expanded.height > 180
        assert expanded.getpixel((0, 0)) == (0, 0, 0)


def test_rotations_and_flips():
    original = noise()
    assert by_name("rotate 90").apply(original, "x").size == (180, 240)
    assert by_name("mirror").apply(original, "x").getpixel((0, 0)) == original.getpixel((239, 0))
    assert by_name("flip vertical").apply(original, "x").getpixel((0, 0)) == original.getpixel((0, 179))


def test_borders_and_screenshot():
    original = noise()
    bordered = by_name("border black").apply(original, "x")
    x, y = position_in(original, bordered)
    assert x == y == bordered.width - original.width - x == bordered.height - original.height - y
    assert 0.05 * 180 - 1 <= x <= 0.15 * 180 + 1
    screen = by_name("screenshot light").apply(original, "x")
    assert screen.size == (1080, 2340)
    assert screen.getpixel((540, 600)) == (250, 250, 250)  # background above the photo


def test_filters_keep_the_size_and_greyscale_is_grey():
    original = noise()
    for t in TRANSFORMS:
        if t.family == "filters":
            assert t.apply(original, "x").size == original.size
    grey = np.asarray(by_name("greyscale").apply(original, "x")).astype(int)
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()


@pytest.mark.parametrize("t", [pytest.param(t, id=t.name, marks=[needs_emoji_font] if "emoji" in t.name else [])
                               for t in TRANSFORMS])
def test_transforms_are_deterministic_for_a_seed(t):
    original, donor = noise(seed=3), noise(seed=4)
    a = t.apply(original, "photo/%s" % t.name, donor)
    b = t.apply(original, "photo/%s" % t.name, donor)
    assert a.mode == "RGB" and a.tobytes() == b.tobytes()
    assert original.tobytes() == noise(seed=3).tobytes()  # the original is left alone


def test_tiles():
    original = noise()
    tiles = transforms.tiles(original, "photo/tiles")
    assert [name for name, _ in tiles][:4] == ["quarter 1", "quarter 2", "quarter 3", "quarter 4"]
    assert len(tiles) == 16
    area = original.width * original.height
    for name, tile in tiles:
        assert position_in(tile, original) is not None
        if name.startswith("window"):
            assert 0.28 <= tile.width * tile.height / area <= 0.52
    assert [t.tobytes() for _, t in tiles] == [t.tobytes() for _, t in transforms.tiles(original, "photo/tiles")]


def scene(seed):
    """A smooth synthetic photo (PDQ needs structure, not noise)."""
    rng = random.Random(seed)
    im = Image.linear_gradient("L").resize((320, 240)).convert("RGB")
    draw = ImageDraw.Draw(im)
    for _ in range(6):
        x, y, r = rng.randint(0, 320), rng.randint(0, 240), rng.randint(15, 70)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randint(0, 255) for _ in range(3)))
    return im


def test_eval_skips_only_pairs_that_cannot_match():
    """The eval hands image_match only the pairs numpy finds within LOOSEST_DISTANCE; on a small
    set, every pair image_match matches must be among them."""
    from hashing import image_match

    from bench import robustness as ev

    photos = [scene(seed) for seed in range(4)]
    enrolled = [ev.original_records(im)[0] for im in photos]
    queries = [ev.repost_record(by_name(name).apply(im, "x", photos[0]), t.quality)
               for im in photos for name in ("jpeg q50", "mirror", "crop 10% centred", "sticker 5%", "rotate 90")
               for t in [by_name(name)]]
    candidates = ev.candidate_pairs(queries, enrolled)
    matched = {(i, j) for i, q in enumerate(queries) for j, e in enumerate(enrolled) if image_match(e, q)}
    assert matched and matched <= candidates
