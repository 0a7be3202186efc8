"""The edits of `make eval-video-robustness` (tests/video_transforms.py) do what their names say.

Small synthetic pictures and a 3-second synthetic clip, no corpus.
"""
import random

import numpy as np
import pytest
from PIL import Image

from tests import video_transforms as vt
from tests.transforms import SCREEN, THEMES


def noise(size=(240, 180), seed=0):
    return Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))


@pytest.mark.parametrize("aspect, expected", [(9 / 16, (101, 180)), (1.0, (180, 180)), (16 / 9, (240, 135))])
def test_crop_to_aspect_keeps_the_largest_box_of_that_shape(aspect, expected):
    im = noise()
    centred = vt.crop_to_aspect(im, random.Random(1), None, aspect=aspect, where="centred")
    assert centred.size == expected
    x, y = (240 - expected[0]) // 2, (180 - expected[1]) // 2
    assert centred.tobytes() == im.crop((x, y, x + expected[0], y + expected[1])).tobytes()


def test_off_centre_crop_to_aspect_is_a_piece_of_the_frame_at_the_seeded_place():
    im = noise()
    a = vt.crop_to_aspect(im, random.Random(7), None, aspect=9 / 16, where="off-centre")
    b = vt.crop_to_aspect(im, random.Random(7), None, aspect=9 / 16, where="off-centre")
    assert a.size == (101, 180) and a.tobytes() == b.tobytes()
    whole = np.asarray(im)
    matches = [x for x in range(240 - 101 + 1) if np.array_equal(whole[:, x:x + 101], np.asarray(a))]
    assert len(matches) == 1


@pytest.mark.parametrize("sides", ["letterbox", "pillarbox"])
def test_padding_adds_black_bars_on_two_sides_only(sides):
    im = noise()
    out = np.asarray(vt.pad(im, random.Random(0), None, sides=sides, share=0.15))
    if sides == "letterbox":
        bar = round(0.15 * 180)
        assert out.shape == (180 + 2 * bar, 240, 3)
        middle, bars = out[bar:bar + 180], np.concatenate([out[:bar], out[bar + 180:]])
    else:
        bar = round(0.15 * 240)
        assert out.shape == (180, 240 + 2 * bar, 3)
        middle, bars = out[:, bar:bar + 240], np.concatenate([out[:, :bar], out[:, bar + 240:]], axis=1)
    assert np.array_equal(middle, np.asarray(im))
    assert not bars.any()


def test_logo_changes_one_corner_only_about_its_share():
    im = noise(seed=3)
    out = vt.logo(im, random.Random(2), None, share=0.02)
    changed = np.any(np.asarray(out) != np.asarray(im), axis=2)
    ys, xs = np.nonzero(changed)
    assert 0.01 < changed.mean() <= 0.021
    # Entirely within one quarter of the frame, away from the centre.
    assert (xs.max() < 120 or xs.min() >= 120) and (ys.max() < 90 or ys.min() >= 90)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_screen_recording_is_a_phone_screen_with_the_frame_inside(theme):
    im = noise((320, 180))
    out = vt.screen_recording(im, random.Random(0), None, theme=theme)
    assert out.size == (SCREEN[0] // 2, SCREEN[1] // 2)
    background = THEMES[theme][0]
    assert out.getpixel((2, 150)) == background  # beside the frame, below the toolbar
    # The frame, scaled to the screen's width, is across the middle: noise, not the flat background.
    middle = np.asarray(out)[SCREEN[1] // 4]
    assert middle.std() > 30 and (middle != background).any(axis=1).mean() > 0.95


def test_the_same_seed_gives_the_same_overlay_on_every_frame():
    edit = vt.edit_named("sticker 10%")
    a, b = noise(seed=1), noise(seed=2)
    ea, eb = np.asarray(edit.frame_edit(a, "clip/sticker")), np.asarray(edit.frame_edit(b, "clip/sticker"))
    covered_a = np.any(ea != np.asarray(a), axis=2)
    covered_b = np.any(eb != np.asarray(b), axis=2)
    assert 0.08 < covered_a.mean() < 0.12
    # The sticker's pixels are the same in both frames, where both frames were changed.
    both = covered_a & covered_b
    assert both.mean() > 0.08 and np.array_equal(ea[both], eb[both])


def test_even_drops_an_odd_row_and_column():
    assert vt.even(noise((241, 181))).size == (240, 180)
    assert vt.even(noise((240, 180))).size == (240, 180)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 3-second 10 fps clip of two halves (left dark, right bright) whose brightness rises over time."""
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    frames = []
    for n in range(30):
        im = Image.new("RGB", (96, 64), (20, 20, 20))
        im.paste((200, 200, 200), (48, 0, 96, 64))
        im.paste((5 * n, 5 * n, 5 * n), (0, 0, 16, 16))
        frames.append((n / 10, im))
    vt.encode(path, frames)
    return path


def decoded(path):
    import av

    with av.open(str(path)) as container:
        return [(frame.time, frame.to_ndarray(format="rgb24")) for frame in container.decode(video=0)]


def test_a_plain_copy_keeps_every_frame_and_its_time(clip, tmp_path):
    duration, frames = vt.source_frames(clip, fps=10)
    assert len(frames) == 30 and duration == pytest.approx(3.0, abs=0.11)
    vt.make_copy(tmp_path / "copy.mp4", vt.VideoEdit("x", "plain"), duration, frames, "seed")
    times = [t for t, _ in decoded(tmp_path / "copy.mp4")]
    assert times == pytest.approx([n / 10 for n in range(30)], abs=0.002)


@pytest.mark.parametrize("speed", [1.1, 0.9])
def test_speed_scales_the_times(clip, tmp_path, speed):
    duration, frames = vt.source_frames(clip, fps=10)
    vt.make_copy(tmp_path / "copy.mp4", vt.edit_named("speed %gx" % speed), duration, frames, "seed")
    times = [t for t, _ in decoded(tmp_path / "copy.mp4")]
    assert times == pytest.approx([n / 10 / speed for n in range(30)], abs=0.002)


def test_trim_keeps_the_middle_40_percent_from_time_zero(clip, tmp_path):
    duration, frames = vt.source_frames(clip, fps=10)
    vt.make_copy(tmp_path / "copy.mp4", vt.edit_named("middle 40%"), duration, frames, "seed")
    copy = decoded(tmp_path / "copy.mp4")
    start, end = 0.3 * duration, 0.7 * duration
    kept = [t for t, _ in frames if start <= t < end]
    assert 11 <= len(kept) <= 13
    assert [t for t, _ in copy] == pytest.approx([t - start for t in kept], abs=0.002)
    # The picture is the original's at that time: the top-left square brightens 5 levels a frame.
    first_level = copy[0][1][4:12, 4:12].mean()
    assert first_level == pytest.approx(5 * round(kept[0] * 10), abs=4)


def test_a_mirrored_copy_has_the_bright_half_on_the_left(clip, tmp_path):
    duration, frames = vt.source_frames(clip, fps=10)
    vt.make_copy(tmp_path / "copy.mp4", vt.edit_named("mirror"), duration, frames, "seed")
    (_, first), *_ = decoded(tmp_path / "copy.mp4")
    assert first.shape == (64, 96, 3)
    assert first[:, 4:44].mean() > 180 and first[:, 52:92].mean() < 40


def test_source_frames_keeps_at_most_copy_fps_frames_a_second_up_to_the_cap(clip):
    duration, frames = vt.source_frames(clip, max_seconds=2.0, fps=5)
    assert duration == 2.0
    assert [t for t, _ in frames] == pytest.approx([n / 5 for n in range(10)], abs=0.002)
