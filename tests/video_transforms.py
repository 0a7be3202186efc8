"""Edited copies of a video, made the way people edit videos before reposting them.

`make eval-video-robustness` (bench/video_robustness.py) measures how many still match the
video they came from. A VideoEdit is a per-frame picture edit (the photo edits of
tests/transforms.py, applied to every frame with the same seed, so a sticker or a crop stays
put for the whole clip, as an editing app places it once) and/or a change of time: speed,
a trimmed segment, a lower bitrate. make_copy() decodes the original with PyAV, applies the
edit and encodes an H.264 MP4 with PyAV.
"""
import fractions
import functools
import math
import random
from typing import Callable, NamedTuple

from PIL import Image, ImageDraw

from tests.transforms import (
    BOLD_FONT, caption_bars, chain, crop, emoji, font, greyscale, meme, p, screenshot, sticker, transpose,
)

# Copies keep at most this many frames per second: encoding every frame of every copy would
# take most of the run, and the hashes sample one frame a second anyway
# (2 to 16 in a clip under 20 s: hashing.video.MIN_FRAMES). Each sampled frame of
# a copy is then up to 1/COPY_FPS s away from the original's frame at that time, as in a copy
# that was trimmed or re-timed.
COPY_FPS = 5
LOW_BITRATE = 150_000  # bits per second: a heavily recompressed repost
TIME_BASE = fractions.Fraction(1, 1000)


class VideoEdit(NamedTuple):
    family: str
    name: str
    frame: Callable | None = None  # (image, rng, donor) -> image, as tests.transforms.Transform.fn
    speed: float = 1.0  # playback speed of the copy: 1.1 plays faster (shorter)
    trim: tuple[float, float] | None = None  # (start, end) shares of the duration to keep
    bitrate: int | None = None  # bits per second; None: libx264's default quality (crf 23)

    def frame_edit(self, image, seed):
        """The edited frame (Pillow RGB): the same seed gives the same overlay on every frame."""
        if self.frame is None:
            return image
        return self.frame(image.convert("RGB"), random.Random(seed), None).convert("RGB")


# --- per-frame edits that tests.transforms has no photo version of ------------------------

def crop_to_aspect(im, rng, donor, aspect, where):
    """The largest crop of ratio aspect (width / height): centred, or at a random position."""
    w, h = im.size
    cw, ch = min(w, round(h * aspect)), min(h, round(w / aspect))
    if where == "centred":
        x, y = (w - cw) // 2, (h - ch) // 2
    else:
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    return im.crop((x, y, x + cw, y + ch))


def logo(im, rng, donor, share=0.02):
    """A broadcaster's or app's watermark: a semi-transparent rounded badge with a short name in a
    random corner, covering about `share` of the frame, 3% of the shorter side from the edges."""
    w, h = im.size
    lw = max(8, round(math.sqrt(share * w * h * 2.5)))
    lh = max(4, round(lw / 2.5))
    margin = round(0.03 * min(w, h))
    x = margin if rng.random() < 0.5 else w - lw - margin
    y = margin if rng.random() < 0.5 else h - lh - margin
    badge = Image.new("RGBA", (lw, lh), (0, 0, 0, 0))
    draw = ImageDraw.Draw(badge)
    draw.rounded_rectangle((0, 0, lw - 1, lh - 1), radius=lh // 4, fill=(255, 255, 255, 170))
    label = rng.choice(["NEWS24", "TV1", "clipz", "@repost", "VIRAL"])
    probe = font(BOLD_FONT, 100).getbbox(label)
    size = 100 * min(0.8 * lw / (probe[2] - probe[0]), 0.6 * lh / (probe[3] - probe[1]))
    draw.text((lw / 2, lh / 2), label, font=font(BOLD_FONT, size), fill=(200, 0, 0, 255), anchor="mm")
    im = im.convert("RGBA")
    im.alpha_composite(badge, (x, y))
    return im.convert("RGB")


def pad(im, rng, donor, sides, share=0.15):
    """Black bars: "letterbox" above and below, "pillarbox" left and right, each `share` of the
    frame's height (letterbox) or width (pillarbox)."""
    w, h = im.size
    if sides == "letterbox":
        bar = round(share * h)
        out = Image.new("RGB", (w, h + 2 * bar))
        out.paste(im, (0, bar))
    else:
        bar = round(share * w)
        out = Image.new("RGB", (w + 2 * bar, h))
        out.paste(im, (bar, 0))
    return out


def screen_recording(im, rng, donor, theme="dark"):
    """The clip as a phone's screen recorder shows it: tests.transforms.screenshot, a 1080 x 2340
    screen with status bar, header and buttons around the clip scaled to fit; saved at half
    that size (540 x 1170), as a recorder's lower setting or a platform's 540p re-encode
    does (full size would make these copies most of the run's time)."""
    return screenshot(im, rng, donor, theme=theme).reduce(2)


def _edits():
    out = []
    for removed in (10, 20, 30, 40):
        family = "crops <=30%" if removed <= 30 else "crops 40%"
        for where in ("centred", "off-centre"):
            out.append(VideoEdit(family, "crop %d%% %s" % (removed, where), p(crop, removed=removed / 100, where=where)))
    for name, aspect in (("9:16", 9 / 16), ("1:1", 1.0)):
        for where in ("centred", "off-centre"):
            out.append(VideoEdit("crops to 9:16 / 1:1", "crop to %s %s" % (name, where),
                                 p(crop_to_aspect, aspect=aspect, where=where)))
    out.append(VideoEdit("mirror", "mirror", p(transpose, method=Image.FLIP_LEFT_RIGHT)))
    out.append(VideoEdit("captions", "caption bars", caption_bars))
    out.append(VideoEdit("captions", "meme caption", meme))
    for kind, fn in (("emoji", emoji), ("sticker", sticker)):
        for share in (5, 10, 20):
            out.append(VideoEdit("overlays 5-20%", "%s %d%%" % (kind, share), p(fn, share=share / 100)))
    out.append(VideoEdit("logo", "logo in a corner", logo))
    out.append(VideoEdit("padding", "letterbox", p(pad, sides="letterbox")))
    out.append(VideoEdit("padding", "pillarbox", p(pad, sides="pillarbox")))
    out.append(VideoEdit("screen recording", "screen recording dark", p(screen_recording, theme="dark")))
    out.append(VideoEdit("screen recording", "screen recording light", p(screen_recording, theme="light")))
    out.append(VideoEdit("speed", "speed 0.9x", speed=0.9))
    out.append(VideoEdit("speed", "speed 1.1x", speed=1.1))
    out.append(VideoEdit("trim", "middle 40%", trim=(0.3, 0.7)))
    out.append(VideoEdit("re-encoding", "150 kbit/s", bitrate=LOW_BITRATE))
    out.append(VideoEdit("greyscale", "greyscale", greyscale))
    crop20 = p(crop, removed=0.2, where="off-centre")
    out.append(VideoEdit("combinations", "crop 20% + caption bars", chain(crop20, caption_bars)))
    out.append(VideoEdit("combinations", "mirror + crop 20%", chain(p(transpose, method=Image.FLIP_LEFT_RIGHT), crop20)))
    out.append(VideoEdit("combinations", "screen recording of crop 20%", chain(crop20, screen_recording)))
    return out


VIDEO_EDITS = _edits()
FAMILIES = list(dict.fromkeys(e.family for e in VIDEO_EDITS))


# --- making the copy --------------------------------------------------------------------

def even(image):
    """H.264 in yuv420p needs even sides: drop a last row or column if needed."""
    w, h = image.size
    return image if w % 2 == 0 and h % 2 == 0 else image.crop((0, 0, w - w % 2, h - h % 2))


def source_frames(path, max_seconds=None, fps=COPY_FPS):
    """(duration, [(time, Pillow RGB image)]): the original's frames, at most `fps` a second, up
    to max_seconds. The duration is that of the part kept."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        frames, next_time = [], 0.0
        for frame in container.decode(stream):
            t = frame.time if frame.time is not None else 0.0
            if max_seconds is not None and t >= max_seconds:
                break
            if t + 1e-6 >= next_time:
                frames.append((t, frame.to_image()))
                next_time = t + 1 / fps
        # The kept part lasts until the end of its last frame (or the cap).
        duration = float(stream.duration * stream.time_base) if stream.duration else container.duration / 1e6
    if max_seconds is not None:
        duration = min(duration, max_seconds)
    return duration, frames


def copy_frames(edit, duration, frames, seed):
    """[(time in the copy, edited image)]: the trim and speed applied to the times, the frame edit to the pictures."""
    start, end = (0.0, duration) if edit.trim is None else (edit.trim[0] * duration, edit.trim[1] * duration)
    return [((t - start) / edit.speed, even(edit.frame_edit(im, seed))) for t, im in frames if start <= t < end]


def encode(path, frames, bitrate=None):
    """An H.264 MP4 at `path` of [(time, Pillow image)] (every image the size of the first)."""
    import av

    size = frames[0][1].size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=COPY_FPS)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.codec_context.time_base = TIME_BASE
        stream.options = {"preset": "ultrafast"}
        if bitrate:
            stream.bit_rate = bitrate
        last = -1
        for t, image in frames:
            frame = av.VideoFrame.from_image(image)
            frame.pts = max(last + 1, round(t / TIME_BASE))
            frame.time_base = TIME_BASE
            last = frame.pts
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def make_copy(path, edit, duration, frames, seed):
    """Writes the edited copy of a video (its source_frames) to `path`, an MP4."""
    encode(path, copy_frames(edit, duration, frames, seed), edit.bitrate)


@functools.lru_cache(maxsize=None)
def edit_named(name):
    return next(e for e in VIDEO_EDITS if e.name == name)
