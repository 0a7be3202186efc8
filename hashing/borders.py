"""Trimming uniform borders (letterbox and pillarbox bars) off decoded pixels."""
from .pixels import Pixels

# A border line is a bar when each colour channel varies by at most this much along it:
# bars are one flat colour, with a little compression noise.
BAR_TOLERANCE = 24
# Never trim more than this share of a side: what is left must still be the picture.
MAX_TRIM_SHARE = 0.4


def trim_borders(pixels):
    """The pixels without uniform bars at their edges (the same Pixels if there are none)."""
    w, h, c = pixels.width, pixels.height, pixels.channels
    data = pixels.data
    stride = w * c
    colours = min(c, 3)  # alpha is no colour

    def uniform(line, step):
        return all(max(line[k::step]) - min(line[k::step]) <= BAR_TOLERANCE for k in range(colours))

    def row(y):
        return data[y * stride:(y + 1) * stride]

    def column(x):
        return _column(data, x, c, stride, h)

    limit_y, limit_x = int(h * MAX_TRIM_SHARE), int(w * MAX_TRIM_SHARE)
    top = 0
    while top < limit_y and uniform(row(top), c):
        top += 1
    bottom = 0
    while bottom < limit_y - top and uniform(row(h - 1 - bottom), c):
        bottom += 1
    left = 0
    while left < limit_x and uniform(column(left), c):
        left += 1
    right = 0
    while right < limit_x - left and uniform(column(w - 1 - right), c):
        right += 1
    if not (top or bottom or left or right):
        return pixels
    new_w, new_h = w - left - right, h - top - bottom
    out = bytearray()
    for y in range(top, h - bottom):
        out += data[y * stride + left * c:y * stride + (w - right) * c]
    return Pixels(new_w, new_h, bytes(out), pixels.mode)


def _column(data, x, channels, stride, height):
    """Column x as bytes, channel-interleaved like a row."""
    out = bytearray(height * channels)
    for k in range(channels):
        out[k::channels] = data[x * channels + k::stride][:height]
    return out
