"""Decoding media files into hashing.Pixels on servers and platforms, with the browser's rules.

The phone decodes with the browser (createImageBitmap with colorSpaceConversion "none", then a
canvas): EXIF orientation applied, ICC profiles not applied, transparency flattened onto white.
Pillow is told to do the same, so both sides hash the same pixels.
"""
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


def image_pixels(path):
    """The first frame of an image file as RGB Pixels, decoded the way the browser does."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.seek(0)  # GIF, APNG, animated WebP: the first frame, as the browser shows it
                im = ImageOps.exif_transpose(im)
                rgb = _flatten_onto_white(im)
    except FileNotFoundError:
        raise DecodeError("no such file") from None
    except IsADirectoryError:
        raise DecodeError("is a directory, not a file") from None
    except PermissionError:
        raise DecodeError("permission denied") from None
    except UnidentifiedImageError:
        raise DecodeError("not an image format Takeback can decode") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DecodeError("image has too many pixels to decode safely") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise DecodeError("cannot decode image: %s" % e) from None
    if rgb.width == 0 or rgb.height == 0:
        raise DecodeError("image has no pixels (%dx%d)" % rgb.size)
    return Pixels(rgb.width, rgb.height, rgb.tobytes(), "RGB")


def _flatten_onto_white(im):
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if not has_alpha:
        return im.convert("RGB")
    rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    white.alpha_composite(rgba)
    return white.convert("RGB")
