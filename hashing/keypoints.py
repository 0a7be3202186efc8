"""Keypoints: the blobs of a picture, found again in a crop of it.

A crop moves the frame, not the content, so windows placed by content line up where windows
placed by the frame cannot. The keypoints are the strongest local extrema of a difference of
two blurs (a band-pass filter: blobs about SCALE of the picture's longer side across), on
the luma grid hashing.grid cuts windows from, at half its resolution. Blurs are
binomial (a Gaussian in integers) along each axis, sized in pixels, not grid cells, so a blob
looks the same in a picture of any aspect ratio. Extrema near the edges are skipped: a crop would cut their blur.

A pair of keypoints spans a window (pair_windows: a square centred between them), which a crop
of the picture keeps wherever its edges fall, as long as it keeps both blobs.

Integers up to the sub-cell refinement (basic float operations only), so CPython and Pyodide
find the same points.
"""
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from heapq import heapify, heappop
from math import comb

from .lanes import lane_mask, packed_transpose, unsigned_lanes, weighted_sum
from .pdq import SAMPLE_SCALE

SCALE = 1 / 64  # the inner blur's sigma, as a share of the longer side
MIN_CONTRAST = 2 * SAMPLE_SCALE  # luma levels: weaker extrema are noise
NEIGHBOURHOOD = 2  # an extremum is the largest (smallest) within this many cells each way
KERNEL_BITS = 16
EDGE = 3  # extrema within this many coarse sigmas of an edge are skipped: a crop would cut their blur
PAIR_SPAN = 1.2  # a pair's window: a square PAIR_SPAN times their distance across, centred between them
MIN_PAIR = 0.15  # pairs closer than this share of the longer side span too little to hash

_Window = tuple[float, float, float, float]  # hashing.grid.Window (hashing.grid imports this module)


def keypoints(values: Sequence[Sequence[int]], columns: list[int], width: int, height: int, count: int,
              scale: float = SCALE) -> list[tuple[float, float]]:
    """The `count` strongest keypoints as (x, y) shares of the picture, strongest first.

    values: the grid's rows of ints; columns: the same grid packed by column (a 64-bit lane
    per row), as hashing.grid.Grid holds them; width, height: the picture's pixels; scale:
    the inner blur's sigma as a share of the longer side (a crop sees its blobs larger).
    """
    rows, cols = len(values), len(values[0])
    longer = max(width, height)
    # Sigma in cells along each axis: the same number of pixels on both.
    sx, sy = scale * longer * cols / width, scale * longer * rows / height
    fine = blur(columns, rows, sx, sy)
    coarse = blur(columns, rows, 2 * sx, 2 * sy)
    dog = [list(map(int.__sub__, a, b)) for a, b in zip(fine, coarse)]
    mx, my = int(2 * EDGE * sx) + 1, int(2 * EDGE * sy) + 1  # the coarse blur's reach
    # The cells strong enough to count, strongest first (ties: top to bottom, left to right),
    # each kept if it is the extremum of its neighbourhood: the first `count` end the search,
    # so only the strongest few cells' neighbourhoods are ever looked at.
    candidates = [(-a, y, x) for y in range(my, rows - my)
                  for x, a in enumerate(map(abs, dog[y][mx:cols - mx]), mx) if a >= MIN_CONTRAST]
    heapify(candidates)
    r = NEIGHBOURHOOD
    out: list[tuple[float, float]] = []
    while candidates and len(out) < count:
        _, y, x = heappop(candidates)
        v = dog[y][x]
        around = [dog[k][x - r:x + r + 1] for k in range(y - r, y + r + 1)]
        if v != (max(map(max, around)) if v > 0 else min(map(min, around))):
            continue
        dx = peak_offset(dog[y][x - 1], v, dog[y][x + 1])
        dy = peak_offset(dog[y - 1][x], v, dog[y + 1][x])
        out.append(((x + 0.5 + dx) / cols, (y + 0.5 + dy) / rows))
    return out


def peak_offset(a: float, b: float, c: float) -> float:
    """Where the parabola through (-1, a), (0, b), (1, c) peaks, within half a cell."""
    den = a - 2 * b + c
    if den == 0:
        return 0.0
    return max(-0.5, min(0.5, (a - c) / (2 * den)))


def _kernel(sigma):
    """Gaussian-like weights of variance sigma ** 2 in fixed point, summing to about 2**KERNEL_BITS:
    a blend of the binomials of variance n / 4 and (n + 2) / 4 around it, n even so both are
    centred on a cell (a crop that changes the aspect ratio changes sigma in cells by any
    fraction: whole binomials alone would round it by up to 12%)."""
    units = max(2.0, 4 * sigma * sigma)  # the variance in binomial units (n / 4 each)
    n = 2 * int(units / 2)
    f = (units - n) / 2  # the wider binomial's share
    narrow = [0.0] + [comb(n, k) / (1 << n) for k in range(n + 1)] + [0.0]
    wide = [comb(n + 2, k) / (1 << (n + 2)) for k in range(n + 3)]
    one = 1 << KERNEL_BITS
    return [round(((1 - f) * a + f * b) * one) for a, b in zip(narrow, wide)]


def blur(columns: list[int], rows: int, sx: float, sy: float) -> list[list[int]]:
    """The grid blurred along x then y, edges repeated; returns rows of ints."""
    across = _blur_lines(columns, _kernel(sx), rows)  # per column, a lane per row
    down = _blur_lines(packed_transpose(across, rows), _kernel(sy), len(columns))
    return [list(line) for line in down]


def _blur_lines(lines, kernel, lanes):
    """Each packed line (`lanes` 64-bit lanes) replaced by the kernel's weighted sum of its
    neighbours, edges repeated; returned unpacked."""
    n, reach = len(lines), len(kernel) // 2
    mask = lane_mask(lanes, 64 - KERNEL_BITS)
    padded = [lines[0]] * reach + lines + [lines[-1]] * reach
    out = []
    for i in range(n):
        acc = (weighted_sum(kernel, padded[i:i + len(kernel)]) >> KERNEL_BITS) & mask
        out.append(unsigned_lanes("Q", acc.to_bytes(8 * lanes, "little")))
    return out


def pair_windows(points: Sequence[tuple[float, float]], width: int, height: int,
                 spread: bool = False) -> list[_Window]:
    """Windows (x0, y0, x1, y1 shares) spanned by pairs of keypoints (`points`, strongest first,
    of a picture of width x height pixels) that fit in the picture, the pairs of the strongest
    first: (0, 1), (0, 2), (1, 2), (0, 3), ... spread=True (for a query's few windows): each
    next window is the first pair left whose busier keypoint spans the fewest windows so far
    (spread_pairs), so that one bad keypoint spoils few of them (an emoji or a sticker is
    often the strongest blob of a copy)."""
    w, h = width, height
    out = []
    for j in range(1, len(points)):
        for i in range(j):
            (xa, ya), (xb, yb) = points[i], points[j]
            dx, dy = (xa - xb) * w, (ya - yb) * h
            d = math.sqrt(dx * dx + dy * dy)  # correctly rounded everywhere, unlike pow()
            if d < MIN_PAIR * max(w, h):
                continue
            half = PAIR_SPAN * d / 2
            cx, cy = (xa + xb) / 2 * w, (ya + yb) / 2 * h
            window = ((cx - half) / w, (cy - half) / h, (cx + half) / w, (cy + half) / h)
            if window[0] >= 0 and window[1] >= 0 and window[2] <= 1 and window[3] <= 1:
                out.append((i, j, window))
    return [window for _, _, window in (spread_pairs(out) if spread else out)]


def spread_pairs(pairs: Iterable[tuple[int, int, _Window]]) -> list[tuple[int, int, _Window]]:
    """pairs: (i, j, window) in order of preference. Reordered so that each next one is the
    first left whose busier keypoint spans the fewest pairs so far."""
    spans: Counter[int]
    out: list[tuple[int, int, _Window]]
    pairs, spans, out = list(pairs), Counter(), []
    while pairs:
        n = min(range(len(pairs)), key=lambda n: (max(spans[pairs[n][0]], spans[pairs[n][1]]), n))
        i, j, _ = pair = pairs.pop(n)
        spans[i] += 1
        spans[j] += 1
        out.append(pair)
    return out
