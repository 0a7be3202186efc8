"""Decoding media files into hashing.Pixels on servers and platforms, with the browser's rules.

The phone decodes with the browser (createImageBitmap with colorSpaceConversion "none", then a
canvas): EXIF orientation applied, ICC profiles not applied, transparency flattened onto white.
Pillow is told to do the same, so both sides hash the same pixels.

Photos: whatever Pillow reads (JPEG, PNG, WebP, GIF, ...), AVIF with Pillow's own plugin
(libavif, in Pillow's wheels since 11.3) and HEIC/HEIF with pillow-heif (libheif), registered
with Pillow here, once. HEIF and AVIF are recognised by their content (the brands of the
file's first box), never by the file name, so an iPhone photo is never taken for a video.
"""
import contextlib
import os
import struct
import warnings
from collections.abc import Callable, Iterator
from typing import BinaryIO

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError, features

from hashing import Pixels

StrPath = str | os.PathLike[str]
# A file's path, or its bytes in a binary file object (io.BytesIO: a Spark executor's binaryFile rows).
Source = StrPath | BinaryIO

CHUNK_SIZE = 1 << 20

# HEIC/HEIF through Pillow: Image.open reads them (its decompression-bomb check included) and
# the plugin hands over the picture as a viewer shows it (irot/imir applied, see image_pixels).
# No options: pillow-heif's options are global, and a platform's own code may use it too.
pillow_heif.register_heif_opener()

# The brands of an ISO BMFF file's 'ftyp' box that only HEIF stills and image sequences use
# (ISO/IEC 23008-12, MIAF, AVIF, Apple's HEIF profiles). A video (MP4, QuickTime .mov, 3GP)
# carries none of them, so they tell a photo from a video whatever the file is called.
AVIF_BRANDS = frozenset({b"avif", b"avis", b"avio", b"MA1A", b"MA1B"})
HEIF_BRANDS = frozenset({
    b"mif1", b"mif2", b"msf1", b"miaf",  # structural: image items, image sequences, MIAF
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs",  # HEVC
    b"MiHA", b"MiHB", b"MiHE", b"MiHM", b"MiHS", b"MiPr", b"MiAn", b"MiCm",  # MIAF/Apple profiles
    b"avci", b"avcs", b"jpeg", b"jpgs", b"j2ki", b"j2is", b"vvic", b"vvis", b"unif",  # other codecs
})


class DecodeError(Exception):
    """The file cannot be read or is not a supported image."""


def read_chunks(path: Source, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The file's bytes in chunks, so that a large file is never held in memory at once."""
    with _binary(path) as f:
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


@contextlib.contextmanager
def _binary(path: Source) -> Iterator[BinaryIO]:
    """The file opened for reading bytes; a file object (io.BytesIO...) is read from its start
    and left where it was."""
    if isinstance(path, (str, os.PathLike)):
        with open(path, "rb") as f:
            yield f
    else:
        position = path.tell()
        path.seek(0)
        try:
            yield path
        finally:
            path.seek(position)


def heif_family(path: Source) -> str | None:
    """"AVIF" or "HEIF" when the file's first box is an 'ftyp' with a HEIF/AVIF brand (major or
    compatible), else None. Only the content counts, never the file name."""
    with _binary(path) as f:
        head = f.read(16)
        if len(head) < 16 or head[4:8] != b"ftyp":
            return None
        size = struct.unpack(">I", head[:4])[0]
        start = 8
        if size == 1:  # a 64-bit size follows the type
            size, start = struct.unpack(">Q", head[8:16])[0], 16
        elif size == 0:  # the box runs to the end of the file
            size = 4096
        if size < start + 8:
            return None
        payload = (head + f.read(min(size, 4096) - len(head)))[start:]
    # major brand, minor version, then the compatible brands
    brands = {payload[:4]} | {payload[i:i + 4] for i in range(8, len(payload) - 3, 4)}
    if brands & AVIF_BRANDS:
        return "AVIF"
    if brands & HEIF_BRANDS:
        return "HEIF"
    return None


def _top_level_boxes(path, limit=10000):
    """(the types of the file's top-level ISO BMFF boxes, whether the last one runs past the end
    of the file): what is needed to tell a truncated HEIF from one with no image in it."""
    types: list[str] = []
    with _binary(path) as f:
        end = f.seek(0, os.SEEK_END)
        position = 0
        while position < end and len(types) < limit:
            f.seek(position)
            header = f.read(16)
            if len(header) < 8:
                return types, True
            size, kind = struct.unpack(">I4s", header[:8])
            types.append(kind)
            if size == 1:
                if len(header) < 16:
                    return types, True
                size = struct.unpack(">Q", header[8:16])[0]
            elif size == 0:
                break  # runs to the end of the file
            if size < 8:
                return types, False  # damaged, not truncated: the decoder's message says more
            position += size
        return types, position > end


def media_kind(path: Source) -> str:
    """"image" or "video", by the file's content (an animated GIF is an image, as in the
    browser's photo picker); DecodeError when it is neither.

    HEIF and AVIF files (an iPhone's HEIC) are images by their brands before anything tries to
    decode them: FFmpeg opens their container as a video, and a damaged one must get the
    photo's error, not a video's."""
    try:
        with _readable(path):
            if heif_family(path):
                return "image"
    except OSError as e:
        raise DecodeError("cannot read file: %s" % e) from None
    try:
        # Too many pixels is still an image: image_pixels says so clearly (and Pillow raises its
        # bomb error, not an OSError, past twice its limit).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with _readable(path), Image.open(path):
                return "image"
    except Image.DecompressionBombError:
        return "image"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        pass
    import av

    try:
        with _av_open(path) as container:
            # FFmpeg reads single images too (by file name): those are Pillow's to decode.
            still = container.format.name == "image2" or container.format.name.endswith("_pipe")
            if container.streams.video and not still:
                next(container.decode(video=0))
                return "video"
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, StopIteration):
        pass
    raise DecodeError("not an image or video Takeback can decode")


def image_pixels(path: Source) -> Pixels:
    """The first frame of an image file as Pixels, decoded the way the browser does.

    HEIC/HEIF (pillow-heif) and AVIF (Pillow) follow the same rules as every other photo:
    - orientation: a HEIF's orientation is its irot/imir properties, which libheif applies
      (an iPhone writes those and the same turn as the EXIF tag); pillow-heif then sets the
      EXIF tag to 1 so that exif_transpose does not turn the photo a second time. Pillow's
      AVIF plugin instead turns irot/imir into the EXIF tag, which exif_transpose applies. An
      EXIF tag with no irot/imir is not applied in either, as the HEIF specification says and
      as Chromium does for AVIF;
    - several images: the primary image of a HEIF (a burst, a collection: the one a viewer
      shows; the first unless the file names another), the first frame of an animated AVIF;
    - more than 8 bits: see _heif_to_8_bits (AVIF: libavif's own conversion, as in Chromium);
    - ICC profiles are not applied, transparency is flattened onto white, Pillow's
      decompression-bomb limit applies (Image.open checks every format).
    """
    try:
        with _readable(path):
            family = heif_family(path)
    except OSError as e:
        raise DecodeError("cannot read file: %s" % e) from None
    # Which plugin reads it, by content: both accept a file whose major brand is "mif1", and
    # libheif here has no AV1 decoder (Pillow's libavif has).
    formats = {"AVIF": ("AVIF", "HEIF"), "HEIF": ("HEIF",)}.get(family or "")
    if family == "AVIF" and not features.check("avif"):
        raise DecodeError("this Pillow cannot read AVIF (Pillow's wheels can since 11.3)")
    try:
        with _readable(path), warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=formats) as opened:
                if opened.format != "HEIF":
                    opened.seek(0)  # GIF, APNG, animated WebP/AVIF: the first frame, as the browser shows it
                im = ImageOps.exif_transpose(_heif_to_8_bits(opened, path))
                rgba = _flatten_onto_white(im)
    except UnidentifiedImageError:
        if family:
            raise _heif_error(path, family, None) from None
        raise DecodeError("not an image format Takeback can decode") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DecodeError("image has too many pixels to decode safely") from None
    except (OSError, SyntaxError, ValueError, RuntimeError, EOFError) as e:  # pillow-heif: RuntimeError too
        if family:
            raise _heif_error(path, family, e) from None
        raise DecodeError("cannot decode image: %s" % e) from None
    if rgba.width == 0 or rgba.height == 0:
        raise DecodeError("image has no pixels (%dx%d)" % rgba.size)
    return Pixels(rgba.width, rgba.height, rgba.tobytes(), "RGBA")


def _heif_to_8_bits(im, path):
    """A HEIF of 10 or 12 bits per sample as 8 bits per channel: the high bits of each channel.

    A canvas holds 8 bits per channel, so the browser reduces too; none documents how for HEIC
    (Safari is the only one that shows it). Chosen: libheif converts Y/Cb/Cr to RGB at the
    file's full precision, and each R, G, B (and alpha) keeps its high 8 bits,
    v >> (depth - 8): what a plain 16-to-8-bit reduction does, and exact for an 8-bit photo an
    encoder widened (v << 2 | v >> 6 gives v back). Rounding (v * 255 / 1023) instead would
    differ by at most one level. Not pillow-heif's own 8-bit output: libheif makes that by
    cutting the Y/Cb/Cr planes to 8 bits before converting them to RGB, up to 3 levels off
    and measurably farther from the photo. Measured on corpus photos at quality 80: PDQ of the
    10- and 12-bit HEIC within 2 bits of the 8-bit HEIC, and rounding instead moves it 0-2 bits.
    (AVIF of more than 8 bits is libavif's own conversion in Pillow, as in Chromium.)
    """
    if im.format != "HEIF" or im.info.get("bit_depth", 8) <= 8:
        return im
    import numpy as np

    with _binary(path) as f:
        # 16-bit samples holding the value in their high bits (hdr_to_16bit, the default); the
        # same libheif decode as the plugin's (irot/imir applied), of the image it opened.
        heif = pillow_heif.open_heif(f, convert_hdr_to_8bit=False)
        frame = heif[im.tell()]
        samples = np.asarray(frame)
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[1 if samples.ndim == 2 else samples.shape[2]]
    if frame.mode.split(";")[0] in ("RGBa", "La"):  # premultiplied alpha
        mode = mode[:-1] + "a"
    high = (samples >> 8).astype(np.uint8)
    # No EXIF: the orientation is applied already (libheif), as in the plugin's 8-bit image.
    return Image.frombuffer(mode, (high.shape[1], high.shape[0]), high.tobytes(), "raw", mode, 0, 1)


def _heif_error(path, family, error):
    """A DecodeError that says why a HEIF/AVIF file could not be decoded."""
    try:
        types, truncated = _top_level_boxes(path)
    except OSError:
        types, truncated = [], False
    if truncated:
        return DecodeError("%s file is truncated (it ends before its data does)" % family)
    if b"meta" not in types and b"moov" not in types:
        return DecodeError("%s file has no image in it" % family)
    reason = str(error) if error is not None else _heif_reason(path, family)
    lower = reason.lower()
    if "end of file" in lower or "truncated" in lower:
        return DecodeError("%s file is truncated (%s)" % (family, reason))
    if any(box in lower for box in ("no 'iinf'", "no 'pitm'", "no 'iloc'", "no 'meta'", "no 'hdlr'")):
        return DecodeError("%s file has no image in it (%s)" % (family, reason))
    return DecodeError("cannot decode %s image: %s" % (family, reason or "unknown error"))


def _heif_reason(path, family):
    """The decoding library's own words on why it cannot read the file (Pillow hides them)."""
    try:
        with _binary(path) as f:
            if family == "AVIF":
                from PIL import AvifImagePlugin

                with AvifImagePlugin.AvifImageFile(f):
                    pass
            else:
                pillow_heif.open_heif(f)
    except Exception as e:  # noqa: BLE001 - only the message is wanted
        return str(e)
    return ""


def _flatten_onto_white(im):
    """Opaque RGBA, like the browser's canvas (hashing/ also reads 4-byte pixels fastest)."""
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if not has_alpha:
        return im.convert("RGB").convert("RGBA")  # colour modes (CMYK, YCbCr...) as Pillow's RGB
    white = Image.new("RGBA", im.size, (255, 255, 255, 255))
    white.alpha_composite(im.convert("RGBA"))
    return white


def video_frames(path: Source, times_for: Callable[[float], list[float]] | None = None
                 ) -> tuple[float, list[tuple[float, int, Pixels]]]:
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
            container = _av_open(path)
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


def _av_open(path):
    """PyAV's container for a path or, read from its start, a binary file object."""
    import av

    if isinstance(path, (str, os.PathLike)):
        return av.open(str(path))
    path.seek(0)
    return av.open(path)


def _duration(container, stream):
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    raise DecodeError("video has no duration")


def _frame_pixels(frame):
    """The frame as RGBA pixels, as the browser draws it to a canvas (FFmpeg converts), turned
    upright by the stream's display matrix: a phone stores a portrait video landscape with a
    rotation to apply, and browsers apply it (PyAV's `rotation` is counterclockwise degrees, as
    numpy's rot90 turns)."""
    import numpy as np

    rgba = frame.to_ndarray(format="rgba")
    turns = round((frame.rotation or 0) / 90) % 4
    if turns:
        rgba = np.ascontiguousarray(np.rot90(rgba, turns))
    return Pixels(rgba.shape[1], rgba.shape[0], rgba.tobytes(), "RGBA")
