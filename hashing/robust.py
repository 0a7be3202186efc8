"""Robust hashes: extra perceptual hashes that let cropped, captioned, stickered, padded,
rotated and mirrored copies of a photo still match.

PDQ only matches a copy whose picture lines up with the original's to about 2% of its size:
a crop, caption bars or screenshot padding move every edge further than that. So besides its
PDQ, a photo gets PDQ-like hashes of *windows*:

* "pdq-window": the same 16 x 16 low-frequency DCT bits as PDQ, of one rectangle of the
  picture, taken from a 128 x 128 grid of the image's luma (PDQ's own filter, sampled finer)
  resampled to 32 x 32 (enough samples for those 16 frequencies). One pass over the pixels
  serves PDQ and every window.
* "pdq-dihedral": PDQ of the 7 other rotations/flips of the whole photo (free: from PDQ's DCT).

The enrolled side (a person's photo, at most ENROL_BUDGET extra hashes) hashes many windows:
crops of the photo at several sizes and positions, with and without its aspect ratio, the
middle band that survives meme text at the top and bottom, and its content box. The query
side (an upload, at most QUERY_BUDGET) hashes few: the whole upload, its mirror image, its
content box (without borders, padding or caption bars) and its middle parts. A crop of the
photo then lies close to an enrolled window; a padded or captioned copy's content box is the
photo. hashing.match.image_match compares them (docs/ROBUST.md has the measurements).

Everything is integer arithmetic after the float weights (basic IEEE operations only), so
CPython and Pyodide give the same bits.
"""
import math
from operator import mul, sub

from .pdq import (
    DIHEDRAL_NAMES, SAMPLE_SCALE, LumaBlocks, _bits_above_median, _lane_mask, _pack_lanes, _unsigned_lanes, _weighted_sum,
)
from .keypoints import keypoints
from .records import HashRecord

ENROL_BUDGET = 64
QUERY_BUDGET = 8

GRID = 128  # the luma grid windows are cut from
SIDE = 32  # samples per side of a window: twice the highest DCT frequency kept
FREQUENCIES = 16
WEIGHT_BITS = 16  # fixed-point precision of the resampling weights
DCT_BITS = 24


def _centred():
    """Centred crops at every 2.5% of the side, 5% to 40% of the area: a centred crop of the
    photo lands within PDQ's ~2% tolerance of one of them."""
    return [(m, m, 1 - m, 1 - m) for m in (0.025, 0.05, 0.075, 0.1, 0.125, 0.15)]


WHOLE = (0.0, 0.0, 1.0, 1.0)
BAND = (0.0, 0.2, 1.0, 0.8)  # without meme text at the top and bottom
INNER = (0.15, 0.15, 0.85, 0.85)  # without stickers in the corners
ENROL_WINDOWS = [WHOLE, BAND, INNER] + _centred()

# Windows spanned by pairs of keypoints (hashing.keypoints): a crop keeps most of the photo's
# blobs where they were in the picture, so a window placed by two of them is found again.
ENROL_KEYPOINTS = 12  # the enrolled photo's pairs come from its 12 strongest keypoints...
QUERY_KEYPOINTS = 4  # ...the upload's from its 4 strongest
PAIR_SPAN = 1.2  # a pair's window: a square PAIR_SPAN times their distance across, centred between them
MIN_PAIR = 0.15  # pairs closer than this share of the longer side span too little to hash


def enrol_hashes(pixels, blocks=None, pdq=None):
    """The extra hash records of a photo a person enrols: windows, keypoint pairs, rotations/flips."""
    blocks = blocks or LumaBlocks(pixels)
    pdq = pdq or blocks.pdq()
    grid = _Grid(blocks)
    box = grid.content_box()
    windows = list(ENROL_WINDOWS)
    if box != WHOLE:
        windows.append(box)
    windows += grid.pair_windows(box, ENROL_KEYPOINTS)
    room = ENROL_BUDGET - (len(DIHEDRAL_NAMES) - 1)
    out = _distinct([HashRecord("pdq-window", h.hex(), q) for h, q in map(grid.window_hash, windows)])[:room]
    variants = pdq.dihedral()
    out += [HashRecord("pdq-dihedral", variants[name].hex(), pdq.quality) for name in DIHEDRAL_NAMES[1:]]
    return _distinct(out)


def query_hashes(pixels, blocks=None, pdq=None):
    """The extra hash records of an upload a platform checks: the whole upload; its content box
    (without borders, padding or caption bars) if it has one; the box's middle band and mirror
    image; windows of keypoint pairs in the box."""
    blocks = blocks or LumaBlocks(pixels)
    grid = _Grid(blocks)
    box = grid.content_box()
    windows = [WHOLE] + ([box] if box != WHOLE else []) + [_inside(box, BAND)]
    out = [grid.window_hash(w) for w in windows] + [grid.window_hash(box, mirror=True)]
    out += map(grid.window_hash, grid.pair_windows(box, QUERY_KEYPOINTS))
    return _distinct([HashRecord("pdq-window", h.hex(), q) for h, q in out])[:QUERY_BUDGET]


def _halve(values):
    """The grid at half the resolution: the mean of each 2 x 2 cells (a last odd row or column dropped)."""
    pairs = [list(map(int.__add__, a, b)) for a, b in zip(values[0::2], values[1::2])]
    return [[(a + b) >> 2 for a, b in zip(row[0::2], row[1::2])] for row in pairs]


def _inside(box, window):
    """`window` (shares of a picture) placed in `box` (shares of the image)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    return (x0 + window[0] * w, y0 + window[1] * h, x0 + window[2] * w, y0 + window[3] * h)


def _distinct(records):
    seen, out = set(), []
    for r in records:
        if (r.type, r.value) not in seen:
            seen.add((r.type, r.value))
            out.append(r)
    return out


def _dct_table():
    one = 1 << DCT_BITS
    return [
        [round(math.cos(math.pi / (2 * SIDE) * (k + 1) * (2 * x + 1)) * one) for x in range(SIDE)]
        for k in range(FREQUENCIES)
    ]


_DCT = _dct_table()
_DCT_ONE = 1 << DCT_BITS
_DCT_OFFSET = [[v + _DCT_ONE for v in row] for row in _DCT]
# Samples are < 2**28 and weights sum to about 2**WEIGHT_BITS: after the shift, 48 bits per
# lane hold the result and the mask drops what the shift brought down from the next lane.
_GRID_MASK = _lane_mask(GRID, 64 - WEIGHT_BITS)
_SIDE_MASK = _lane_mask(SIDE, 64 - WEIGHT_BITS)


class _Grid:
    """The GRID x GRID luma samples of an image, and hashes of windows of it."""

    def __init__(self, blocks):
        self.columns = blocks.samples(GRID)  # column j: a 64-bit lane per row
        self.width, self.height = blocks.width, blocks.height
        self._values = None

    def values(self):
        """The grid as rows of ints (row i, column j)."""
        if self._values is None:
            cols = [_unsigned_lanes("Q", c.to_bytes(8 * GRID, "little")) for c in self.columns]
            self._values = [list(r) for r in zip(*cols)]
        return self._values

    def window_hash(self, window, mirror=False):
        """(HashValue, quality) of a window; mirror=True hashes its left-right mirror image."""
        x0, y0, x1, y1 = window
        # Horizontal pass on the packed columns: SIDE new columns, a lane per grid row.
        cols = []
        for first, weights in _area_weights(x0 * GRID, x1 * GRID):
            acc = _weighted_sum(weights, self.columns[first:first + len(weights)])
            cols.append(_unsigned_lanes("Q", ((acc >> WEIGHT_BITS) & _GRID_MASK).to_bytes(8 * GRID, "little")))
        if mirror:
            cols.reverse()
        rows = [_pack_lanes(r) for r in zip(*cols)]  # grid row i: a lane per new column
        # Vertical pass: SIDE x SIDE samples, rows packed with a lane per column.
        packed, samples = [], []
        for first, weights in _area_weights(y0 * GRID, y1 * GRID):
            acc = (_weighted_sum(weights, rows[first:first + len(weights)]) >> WEIGHT_BITS) & _SIDE_MASK
            packed.append(acc)
            samples.append(_unsigned_lanes("Q", acc.to_bytes(8 * SIDE, "little")))
        return _bits_above_median(_dct(packed, samples)), _quality(samples)

    def pair_windows(self, box, count):
        """Windows (shares of the image) spanned by pairs of the `count` strongest keypoints in
        `box`, the pairs of the strongest first: (0, 1), (0, 2), (1, 2), (0, 3), ..."""
        x0, y0, x1, y1 = box
        c0, c1 = int(x0 * GRID), max(int(x0 * GRID) + 1, round(x1 * GRID))
        r0, r1 = int(y0 * GRID), max(int(y0 * GRID) + 1, round(y1 * GRID))
        values = _halve([row[c0:c1] for row in self.values()[r0:r1]])  # blobs need no finer grid
        if len(values) < 12 or len(values[0]) < 12:
            return []
        columns = [_pack_lanes(c) for c in zip(*values)]
        # The region's pixels: the cells' share of the image's.
        w, h = self.width * (c1 - c0) / GRID, self.height * (r1 - r0) / GRID
        points = [(x0 + px * (c1 - c0) / GRID, y0 + py * (r1 - r0) / GRID)
                  for px, py in keypoints(values, columns, w, h, count)]
        out = []
        for j in range(1, len(points)):
            for i in range(j):
                (xa, ya), (xb, yb) = points[i], points[j]
                dx, dy = (xa - xb) * self.width, (ya - yb) * self.height
                d = math.sqrt(dx * dx + dy * dy)  # correctly rounded everywhere, unlike pow()
                if d < MIN_PAIR * max(w, h):
                    continue
                half = PAIR_SPAN * d / 2
                cx, cy = (xa + xb) / 2 * self.width, (ya + yb) / 2 * self.height
                window = ((cx - half) / self.width, (cy - half) / self.height,
                          (cx + half) / self.width, (cy + half) / self.height)
                if window[0] >= x0 and window[1] >= y0 and window[2] <= x1 and window[3] <= y1:
                    out.append(window)
        return out

    def content_box(self):
        """The picture without uniform borders, padding, status bars or caption bars (shares of the image)."""
        v = self.values()
        top = _bar_lines(v)
        bottom = _bar_lines(v[::-1])
        t = [list(c) for c in zip(*v)]
        left = _bar_lines(t)
        right = _bar_lines(t[::-1])
        if top + bottom > GRID * 0.6 or left + right > GRID * 0.6:
            return WHOLE
        return (left / GRID, top / GRID, 1 - right / GRID, 1 - bottom / GRID)


BAR_TOLERANCE = 12 * SAMPLE_SCALE  # luma levels
BAR_SHARE = 0.8  # a bar line: this share of it within the tolerance of the bar's colour
MARGIN = GRID // 12  # a caption bar: text in the middle, its colour at both ends
MAX_BAR = int(GRID * 0.35)


def _bar_lines(lines):
    """How many lines from the start are a bar: borders, padding, a status bar, a caption bar."""
    colour = lines[0][0]
    n = 0
    while n < MAX_BAR:
        line = lines[n]
        near = sum(1 for v in line if abs(v - colour) <= BAR_TOLERANCE)
        margins = line[:MARGIN] + line[-MARGIN:]
        if near < BAR_SHARE * len(line) and any(abs(v - colour) > BAR_TOLERANCE for v in margins):
            break
        n += 1
    # The tent filter blurs the picture's edge into a line or two: take those too.
    return n + 2 if 0 < n < MAX_BAR else n


def _area_weights(a, b):
    """SIDE output cells evenly spanning [a, b) of the grid: (first grid cell, fixed-point weights)."""
    a = max(0.0, min(a, GRID - 1e-9))
    b = max(a + 1e-9, min(b, float(GRID)))
    step = (b - a) / SIDE
    out = []
    for c in range(SIDE):
        lo, hi = a + c * step, a + (c + 1) * step
        first = int(lo)
        last = min(GRID - 1, int(math.ceil(hi)) - 1)
        weights = []
        for p in range(first, last + 1):
            overlap = min(hi, p + 1) - max(lo, p)
            weights.append(round(overlap / step * (1 << WEIGHT_BITS)))
        out.append((first, weights))
    return out


def _dct(packed, samples):
    """The 16 x 16 low-frequency DCT corner of SIDE x SIDE samples (rows packed and unpacked)."""
    column_sums = [sum(c) for c in zip(*samples)]
    ds = []  # ds[k][j] = sum_i D[k][i] * S[i][j]
    for d in _DCT_OFFSET:
        acc = _weighted_sum(d, packed)
        lanes = _unsigned_lanes("Q", acc.to_bytes(8 * SIDE, "little"))
        ds.append([v - _DCT_ONE * s for v, s in zip(lanes, column_sums)])
    return [[sum(map(mul, d, row)) for d in _DCT] for row in ds]


def _quality(samples):
    """PDQ's quality (the sum of significant gradients, 0-100) for a SIDE x SIDE window:
    half as many samples per side as PDQ's, so each gradient is about twice PDQ's and the
    divisor is halved twice over (a quarter of the pairs)."""
    div = 255 * SAMPLE_SCALE
    total = 0
    for i, row in enumerate(samples):
        total += sum(abs(d) * 100 // div for d in map(sub, row, row[1:]))
        if i + 1 < SIDE:
            total += sum(abs(d) * 100 // div for d in map(sub, row, samples[i + 1]))
    return min(100, total // 45)
