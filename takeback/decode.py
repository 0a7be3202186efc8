"""Decoding media files into hashing.Pixels on servers and platforms, with the browser's rules.

The phone decodes with the browser (createImageBitmap with colorSpaceConversion "none", then a
canvas): EXIF orientation applied, ICC profiles not applied, transparency flattened onto white.
Pillow is told to do the same, so both sides hash the same pixels.
"""
import contextlib
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from hashing import Pixels

CHUNK_SIZE = 1 << 20


class DecodeError(Exception):
    """The file cannot be read or is not a supported image."""


def read_chunks(path, chunk_size=CHUNK_SIZE):
    """The file's bytes in chunks, so that a large file is never held in memory at once."""
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            yield chunk


@contextlib.contextmanager
def _readable(path):
    """Turns the file system's refusals into DecodeErrors a person can read."""
    try:
        yield
    except FileNotFoundError:
        raise DecodeError("no such file") from None
    except IsADirectoryError:
        raise DecodeError("is a directory, not a file") from None
    except PermissionError:
        raise DecodeError("permission denied") from None


def media_kind(path):
    """"image" or "video", by what can decode the file (an animated GIF is an image, as in
    the browser's photo picker); DecodeError when neither can."""
    try:
        with _readable(path), Image.open(path):
            return "image"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        pass
    import av

    try:
        with av.open(str(path)) as container:
            # FFmpeg reads single images too (by file name): those are Pillow's to decode.
            still = container.format.name == "image2" or container.format.name.endswith("_pipe")
            if container.streams.video and not still:
                next(container.decode(video=0))
                return "video"
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, StopIteration):
        pass
    raise DecodeError("not an image or video Takeback can decode")


def image_pixels(path):
    """The first frame of an image file as Pixels, decoded the way the browser does."""
    try:
        with _readable(path), warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.seek(0)  # GIF, APNG, animated WebP: the first frame, as the browser shows it
                im = ImageOps.exif_transpose(im)
                rgba = _flatten_onto_white(im)
    except UnidentifiedImageError:
        raise DecodeError("not an image format Takeback can decode") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DecodeError("image has too many pixels to decode safely") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise DecodeError("cannot decode image: %s" % e) from None
    if rgba.width == 0 or rgba.height == 0:
        raise DecodeError("image has no pixels (%dx%d)" % rgba.size)
    return Pixels(rgba.width, rgba.height, rgba.tobytes(), "RGBA")


def _flatten_onto_white(im):
    """Opaque RGBA, like the browser's canvas (hashing/ also reads 4-byte pixels fastest)."""
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if not has_alpha:
        return im.convert("RGB").convert("RGBA")  # colour modes (CMYK, YCbCr...) as Pillow's RGB
    white = Image.new("RGBA", im.size, (255, 255, 255, 255))
    white.alpha_composite(im.convert("RGBA"))
    return white


def video_frames(path, times_for=None):
    """(duration, [(time, frame_number, Pixels)]): the frame shown at each of frame_times(duration).

    The frame shown at time t is the last one whose timestamp is at or before t, as a
    browser's <video> shows after seeking to t. Frames are decoded in order (no seeking,
    so no keyframe guesswork) and only the chosen ones are converted to RGBA.
    """
    import av

    from hashing.video import frame_times

    times_for = times_for or frame_times
    try:
        with _readable(path):
            container = av.open(str(path))
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as e:
        raise DecodeError("not a video Takeback can decode (%s)" % e) from None
    with container:
        if not container.streams.video:
            raise DecodeError("has no video track")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        duration = _duration(container, stream)
        times = times_for(duration)
        chosen, shown, number, i = [], None, -1, 0
        try:
            for frame in container.decode(stream):
                t = frame.time if frame.time is not None else 0.0
                while i < len(times) and shown is not None and times[i] < t:
                    chosen.append((times[i], number, _frame_pixels(shown)))
                    i += 1
                shown, number = frame, number + 1
                if i == len(times):
                    break
        except av.error.FFmpegError as e:
            raise DecodeError("cannot decode video: %s" % e) from None
        if shown is None:
            raise DecodeError("video has no frames that can be decoded")
        while i < len(times):
            chosen.append((times[i], number, _frame_pixels(shown)))
            i += 1
    return duration, chosen


def _duration(container, stream):
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    raise DecodeError("video has no duration")


def _frame_pixels(frame):
    """The frame as RGBA pixels, as the browser draws it to a canvas (FFmpeg converts)."""
    rgba = frame.to_ndarray(format="rgba")
    return Pixels(frame.width, frame.height, rgba.tobytes(), "RGBA")
