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

    def uniform(line):
        return all(max(line[k::c]) - min(line[k::c]) <= BAR_TOLERANCE for k in range(colours))

    def row(y):
        return data[y * stride:(y + 1) * stride]

    def column(x):
        return _column(data, x, c, stride, h)

    def bars(line_at, first, direction, limit):
        """How many lines from `first` on, stepping by `direction`, are uniform (at most limit)."""
        count = 0
        while count < limit and uniform(line_at(first + direction * count)):
            count += 1
        return count

    limit_y, limit_x = int(h * MAX_TRIM_SHARE), int(w * MAX_TRIM_SHARE)
    top = bars(row, 0, 1, limit_y)
    bottom = bars(row, h - 1, -1, limit_y - top)
    left = bars(column, 0, 1, limit_x)
    right = bars(column, w - 1, -1, limit_x - left)
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
