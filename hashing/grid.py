"""The luma grid the robust hashes cut their windows from, and the samples of a window of it.

PDQ samples a photo's luma 64 x 64 after its tent filter. The robust hashes need windows of the
photo (a crop, the picture inside caption bars, the square between two keypoints), each
resampled to SIDE x SIDE: enough samples for the 16 DCT frequencies PDQ keeps. Sampling each
window from the pixels would cost a pass over them per window; instead the same filter is
sampled once, finer (GRID x GRID, from the one hashing.pdq.LumaBlocks pass that serves PDQ
too), and every window is an area-weighted average of the grid cells it covers (samples), or,
for a photo turned by a straighten tool, bilinear point samples of the half-resolution grid
(turned_samples). Keypoints are found on the half-resolution grid (hashing.keypoints).

A window is (x0, y0, x1, y1), shares of the picture's width and height. Integer arithmetic on
packed lanes (hashing.lanes) after the float weights, so CPython and Pyodide agree.
"""
import math
from collections.abc import Sequence
from typing import NamedTuple

from .keypoints import SCALE as BLOB_SCALE, keypoints
from .lanes import lane_mask, pack_lanes, packed_transpose, unsigned_lanes, weighted_sum
from .pdq import LumaBlocks, PdqHash

GRID = 128  # grid cells per side
SIDE = 32  # samples per side of a window: twice the highest DCT frequency kept
WEIGHT_BITS = 16  # fixed-point precision of the resampling weights
Window = tuple[float, float, float, float]  # (x0, y0, x1, y1): shares of the picture's width and height
WHOLE: Window = (0.0, 0.0, 1.0, 1.0)  # the window of the whole picture
# Samples are < 2**28 and weights sum to about 2**WEIGHT_BITS: after the shift, 48 bits per
# lane hold the result and the mask drops what the shift brought down from the next lane.
_GRID_MASK = lane_mask(GRID, 64 - WEIGHT_BITS)
_SIDE_MASK = lane_mask(SIDE, 64 - WEIGHT_BITS)


class Turn(NamedTuple):
    """A small rotation, as its sine and cosine (literals: the same bits on every platform)."""
    sin: float
    cos: float


class WindowSamples(NamedTuple):
    """A window's SIDE x SIDE samples: its rows packed (a 64-bit lane per column) and as values."""
    packed: list[int]
    rows: Sequence[Sequence[int]]


class Grid:
    """The GRID x GRID luma samples of an image (or of a box of it), and samples of windows of it."""

    def __init__(self, blocks: LumaBlocks, box: tuple[int, int, int, int] | None = None):
        """blocks: the image's hashing.pdq.LumaBlocks; box: (x0, y0, x1, y1) pixels to sample
        only that part of the image (as if cropped)."""
        self.columns = blocks.samples(GRID, box)  # column j: a 64-bit lane per row
        x0, y0, x1, y1 = box or (0, 0, blocks.width, blocks.height)
        self.width, self.height = x1 - x0, y1 - y0  # pixels of the picture the grid samples
        self.blocks = blocks
        self._values: list[list[int]] | None = None
        self._half: list[list[int]] | None = None
        self._half_columns: list[int] | None = None
        self._sums: dict[int, list[list[int]]] = {}  # cells summed -> the grid summed in squares of that many cells
        self._samples: dict[Window, WindowSamples] = {}  # window -> its WindowSamples
        self.sampled_hashes: dict[Window, PdqHash] = {}  # window -> its PdqHash as sampled (hashing.windowhash fills it)

    def values(self) -> list[list[int]]:
        """The grid as rows of ints (row i, column j)."""
        if self._values is None:
            cols = [unsigned_lanes("Q", c.to_bytes(8 * GRID, "little")) for c in self.columns]
            self._values = [list(r) for r in zip(*cols)]
        return self._values

    def half_values(self) -> list[list[int]]:
        """The grid at half its resolution (GRID / 2 x GRID / 2 rows of ints): the mean of each 2 x 2 cells."""
        if self._half is None:
            self._half = _half_resolution(self.values())
        return self._half

    def summed(self, n: int) -> list[list[int]]:
        """The grid summed in squares of n x n cells (rows of ints)."""
        if n not in self._sums:  # an enrolled photo's two block hashes sum it once
            rows = [[sum(r[i:i + n]) for i in range(0, GRID, n)] for r in self.values()]
            self._sums[n] = [list(map(sum, zip(*rows[y:y + n]))) for y in range(0, GRID, n)]
        return self._sums[n]

    def keypoints(self, count: int, scale: float = BLOB_SCALE) -> list[tuple[float, float]]:
        """The picture's `count` strongest keypoints, found at `scale` (hashing.keypoints)."""
        values = self.half_values()  # blobs need no finer grid
        if self._half_columns is None:  # each side finds blobs at two sizes
            self._half_columns = packed_transpose(values, len(values[0]))
        return keypoints(values, self._half_columns, self.width, self.height, count, scale)

    def samples(self, window: Window) -> WindowSamples:
        """A window's SIDE x SIDE samples (WindowSamples), each the area-weighted mean of the
        grid cells it covers."""
        if window in self._samples:
            return self._samples[window]
        x0, y0, x1, y1 = window
        down = _area_weights(y0 * GRID, y1 * GRID)
        top, bottom = down[0][0], down[-1][0] + len(down[-1][1])  # the grid rows the window reads
        # Horizontal pass on the packed columns: SIDE new columns, a lane per grid row.
        cols = []  # per new column, a value per grid row the window reads
        for first, weights in _area_weights(x0 * GRID, x1 * GRID):
            acc = (weighted_sum(weights, self.columns[first:first + len(weights)]) >> WEIGHT_BITS) & _GRID_MASK
            cols.append(unsigned_lanes("Q", acc.to_bytes(8 * GRID, "little")[8 * top:8 * bottom]))
        rows = packed_transpose(cols, bottom - top)  # grid row top + i: a lane per new column
        # Vertical pass: SIDE x SIDE samples, rows packed with a lane per column.
        packed, samples = [], []
        for first, weights in down:
            acc = (weighted_sum(weights, rows[first - top:first - top + len(weights)]) >> WEIGHT_BITS) & _SIDE_MASK
            packed.append(acc)
            samples.append(unsigned_lanes("Q", acc.to_bytes(8 * SIDE, "little")))
        self._samples[window] = WindowSamples(packed, samples)
        return self._samples[window]

    def turned_samples(self, turn: Turn) -> WindowSamples:
        """The SIDE x SIDE samples (WindowSamples) of what a phone's straighten tool keeps of the
        picture when it turns it by `turn` (a Turn): the centred rectangle of the picture's
        aspect ratio, turned, as large as fits without an empty corner. Bilinear point samples
        of the half-resolution grid (about two of its cells apart, as the area-weighted windows)."""
        sin, cos = turn
        w, h = self.width, self.height
        zoom = 1 / (cos + max(w / h, h / w) * abs(sin))
        half = self.half_values()
        rows, cols = len(half), len(half[0])
        # Grid coordinates of sample (i, j): the window's centre plus its offsets turned,
        # split into the parts that depend on j and on i alone.
        offsets = [((k + 0.5) / SIDE - 0.5) * zoom for k in range(SIDE)]
        x_of_j = [u * cos * cols for u in offsets]
        y_of_j = [u * w * sin / h * rows for u in offsets]
        x_of_i = [-v * h * sin / w * cols for v in offsets]
        y_of_i = [v * cos * rows for v in offsets]
        cx, cy = cols / 2 - 0.5, rows / 2 - 0.5
        samples, packed = [], []
        for xi, yi in zip(x_of_i, y_of_i):
            gxs = [cx + xi + xj for xj in x_of_j]
            gys = [cy + yi + yj for yj in y_of_j]
            xs, ys = list(map(int, gxs)), list(map(int, gys))
            if min(gxs) >= 0 and min(gys) >= 0 and max(xs) <= cols - 2 and max(ys) <= rows - 2:
                fxs = [round((g - x) * 256) for g, x in zip(gxs, xs)]
                fys = [round((g - y) * 256) for g, y in zip(gys, ys)]
            else:  # a sample within a cell of the edge: held to the last pair of cells
                xs = [min(cols - 2, max(0, x)) for x in xs]
                ys = [min(rows - 2, max(0, y)) for y in ys]
                fxs = [min(256, max(0, round((g - x) * 256))) for g, x in zip(gxs, xs)]
                fys = [min(256, max(0, round((g - y) * 256))) for g, y in zip(gys, ys)]
            # Bilinear: the two cells each side along x, in the row above and below.
            row = [((half[y][x] * (256 - fx) + half[y][x + 1] * fx) * (256 - fy)
                    + (half[y + 1][x] * (256 - fx) + half[y + 1][x + 1] * fx) * fy) >> 16
                   for x, y, fx, fy in zip(xs, ys, fxs, fys)]
            samples.append(row)
            packed.append(pack_lanes(row))
        return WindowSamples(packed, samples)


def _half_resolution(values):
    """Rows of ints at half the resolution: the mean of each 2 x 2 cells (a last odd row or column dropped)."""
    pairs = [list(map(int.__add__, a, b)) for a, b in zip(values[0::2], values[1::2])]
    return [[(a + b) >> 2 for a, b in zip(row[0::2], row[1::2])] for row in pairs]


def _area_weights(a, b):
    """SIDE output cells evenly spanning [a, b) of the grid: (first grid cell, fixed-point weights).

    Each output cell averages the grid cells it overlaps, weighted by the overlap: whole cells
    inside it weigh one step's share, the two it straddles their part."""
    a = max(0.0, min(a, GRID - 1e-9))
    b = max(a + 1e-9, min(b, float(GRID)))
    step = (b - a) / SIDE
    unit = (1 << WEIGHT_BITS) / step  # the weight of a whole grid cell
    inner = round(unit)
    edges = [a + c * step for c in range(SIDE + 1)]  # cell c spans edges[c] to edges[c + 1]
    out = []
    for lo, hi in zip(edges, edges[1:]):
        first, last = int(lo), min(GRID - 1, math.ceil(hi) - 1)
        if first == last:
            out.append((first, [1 << WEIGHT_BITS]))
        else:
            out.append((first, [round((first + 1 - lo) * unit)] + [inner] * (last - first - 1)
                        + [round((hi - last) * unit)]))
    return out
