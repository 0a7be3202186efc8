"""Robust hashes: extra perceptual hashes that let cropped, captioned, stickered, padded,
rotated and mirrored copies of a photo still match.

PDQ only matches a copy whose picture lines up with the original's to about 2% of its size:
a crop, caption bars or screenshot padding move every edge further than that. So besides its
PDQ, a photo gets hashes of *windows* of it:

* "pdq-window": the same 16 x 16 low-frequency DCT bits as PDQ, of one rectangle of the
  picture, taken from a 128 x 128 grid of the image's luma (PDQ's own filter, sampled finer)
  resampled to 32 x 32 (enough samples for those 16 frequencies). One pass over the pixels
  serves PDQ and every window.
* "pdq-dihedral": the window hash of the 7 other rotations/flips of the whole photo (free:
  from its DCT's signs, as PDQ's reference does).
* "pdq-blocks": the picture as 8 x 8 cells of 4 bits, which a sticker or text damages only
  where it covers.
* "pdq-pair-blocks": the same block hash of a window spanned by a pair of keypoints
  (hashing.keypoints, found at two sizes: a crop sees them larger), which a crop keeps
  wherever its edges fall: a crop with a sticker or a caption on it still matches.

The enrolled side (a person's photo, at most ENROL_BUDGET extra hashes) hashes many windows:
the whole photo, centred crops, its content box, the centred part a phone's straighten tool
keeps when it turns the photo a few degrees, and, filling the budget, windows of pairs of its
keypoints. The query side (an upload, at most QUERY_BUDGET) hashes few: the whole upload,
the picture in its content box (without borders, screenshot padding or caption bars), the
windows of pairs of its strongest keypoints (also at two sizes), and its block hash.
hashing.match.image_match compares them; docs/ROBUST.md has the reasons and the measurements.

Everything is integer arithmetic after the float weights (basic IEEE operations only, and
literal sines), so CPython and Pyodide give the same bits.
"""
import math
from collections import Counter
from itertools import chain, islice
from operator import sub

from .pdq import (
    _DCT_ONE, LUMA_SCALE, SAMPLES, SAMPLE_SCALE, LumaBlocks, PdqHash, _bits_above_median, _dct_table,
    _lane_mask, _pack_lanes, _packed_transpose, _unsigned_lanes, _weighted_sum,
)
from .hashvalue import HashValue
from .keypoints import SCALE as BLOB_SCALE, keypoints
from .records import HashRecord

ENROL_BUDGET = 64
QUERY_BUDGET = 8
TURNED = ("rotate90", "rotate180", "rotate270")  # hashing.pdq's names of the quarter turns

GRID = 128  # the luma grid windows are cut from
SIDE = 32  # samples per side of a window: twice the highest DCT frequency kept
FREQUENCIES = 16
WEIGHT_BITS = 16  # fixed-point precision of the resampling weights


def _centred():
    """Centred crops at every 2.5%, from 2.5% to 15% off each edge: a centred crop of the
    photo lands within PDQ's ~2% tolerance of one of them."""
    return [(m, m, 1 - m, 1 - m) for m in (0.025, 0.05, 0.075, 0.1, 0.125, 0.15)]


WHOLE = (0.0, 0.0, 1.0, 1.0)
ENROL_WINDOWS = [WHOLE] + _centred()
# A phone's straighten tool turns a photo by a few degrees and crops it to its aspect ratio:
# (sin, cos) of -5, -3.5, -2, 2, 3.5 and 5 degrees (literals: the same bits on every platform;
# a turn between two of them is at most 0.75 degrees off, which PDQ's bits survive).
TURNS = [(-0.08715574274765817, 0.9961946980917455), (-0.06104853953485687, 0.9981347984218669),
         (-0.03489949670250097, 0.9993908270190958), (0.03489949670250097, 0.9993908270190958),
         (0.06104853953485687, 0.9981347984218669), (0.08715574274765817, 0.9961946980917455)]

# Windows spanned by pairs of keypoints (hashing.keypoints): a crop keeps most of the photo's
# blobs where they were in the picture, so a window placed by two of them is found again.
# Blobs are found at a size that is a share of the picture's longer side, so a crop that keeps
# 84% of it (30% of the area) sees them 19% larger, finds other ones and places the same ones
# a little elsewhere. So each side takes pairs from blobs found at two sizes, a few windows
# of each in turn: the enrolled photo's at its own size and as such a crop sees them (1/76),
# the upload's at its own size and as if it were such a crop (1/54). That pairs crops keeping
# 100%, 84% and 71% of the side with the scale they see the photo at.
# Each set: (strongest keypoints, their size (a share of the longer side), spread, windows a turn).
ENROL_PAIRS = ((12, BLOB_SCALE, False, 2), (8, 1 / 76, True, 1))
QUERY_PAIRS = ((8, BLOB_SCALE, True, 1), (8, 1 / 54, True, 1))
PAIR_SPAN = 1.2  # a pair's window: a square PAIR_SPAN times their distance across, centred between them
MIN_PAIR = 0.15  # pairs closer than this share of the longer side span too little to hash


def enrol_hashes(pixels, blocks=None):
    """The extra hash records of a photo a person enrols: windows, the block hashes of windows
    of keypoint pairs, rotations/flips, block hashes."""
    blocks = blocks or LumaBlocks(pixels)
    image, picture = _image_and_picture(blocks)
    hashes = [image.window_hash(WHOLE)] if picture is not image else []
    hashes += [picture.window_hash(w) for w in ENROL_WINDOWS] + [picture.turned_hash(t) for t in TURNS]
    windows = [HashRecord("pdq-window", h.hex(), q) for h, q in hashes]
    room = ENROL_BUDGET - len(TURNED) - 2
    out = _distinct(chain(windows, _pair_records(picture, ENROL_PAIRS)), room)
    # The block hash as the photo is and as its mirror image is: a copy's is taken as it is,
    # and a mirrored copy's then matches the second.
    out += [HashRecord("pdq-blocks", h.hex(), q) for h, q in (picture.block_hash(), picture.block_hash(True))]
    # The photo turned a quarter, a half and three quarters (its mirror images hash as it
    # does), from its window's DCT: a window's samples sit symmetrically in it, so these are
    # exactly the hashes of the turned photo (PDQ's own samples are a pixel off centre, which
    # some detailed photos notice). The whole image, not the picture: a turned copy's content
    # box is found by other rules (columns are never text on a bar).
    whole = image.window_pdq(WHOLE, unmirrored=False)
    turned = whole.dihedral_dcts()
    out += [HashRecord("pdq-dihedral", _bits_above_median(_unmirrored(turned[name])).hex(), whole.quality)
            for name in TURNED]
    return _distinct(out)


def query_hashes(pixels, blocks=None):
    """The extra hash records of an upload a platform checks: the whole upload; the picture in
    it (without borders, screenshot padding or caption bars); the block hashes of windows of
    pairs of the picture's strongest keypoints; the picture's block hash."""
    blocks = blocks or LumaBlocks(pixels)
    image, picture = _image_and_picture(blocks)
    out = [image.window_hash(WHOLE)] if picture is not image else []
    out += [picture.window_hash(WHOLE)]
    windows = [HashRecord("pdq-window", h.hex(), q) for h, q in out]
    windows = _distinct(chain(windows, _pair_records(picture, QUERY_PAIRS)), QUERY_BUDGET - 1)
    blocks_hash = picture.block_hash()
    return windows + [HashRecord("pdq-blocks", blocks_hash[0].hex(), blocks_hash[1])]


def _pair_records(picture, sets):
    """The "pdq-pair-blocks" records of the windows of pairs of keypoints (lazily: they are
    hashed only until the budget is full)."""
    return (HashRecord("pdq-pair-blocks", h.hex(), q) for h, q in map(picture.pair_blocks, picture.pairs_in_turn(sets)))


def frame_block_record(blocks, pdq):
    """The pdq-blocks record of a video frame (its bars already trimmed), from the samples its
    PDQ (`pdq`, of `blocks`) has just used: a block hash for a few milliseconds more per frame,
    where the photos' finer grid would add half of PDQ's time. As the frame is, not mirrored:
    vPDQ matches no mirrored video either."""
    _, values = blocks.pdq_samples()  # values[j][i]: row i of column j, 64 x 64
    n = SAMPLES // (BLOCKS * CELL_SAMPLES)
    small = [[sum(values[x * n + dx][y * n + dy] for dx in range(n) for dy in range(n))
              for x in range(BLOCKS * CELL_SAMPLES)] for y in range(BLOCKS * CELL_SAMPLES)]
    return HashRecord("pdq-blocks", _block_bits(small).hex(), pdq.quality)


def _block_bits(small, mirrored=False):
    """An image as 8 x 8 cells of 4 bits each, from its 32 x 32 samples (rows): a sticker or a
    line of text changes only the cells it covers, where a window hash's every bit depends on
    the whole window. Each cell: the signs of its 3 lowest DCT frequencies (of 4 x 4 samples)
    and whether its mean is above the cells' median. mirrored: take the samples' mirror image.

    The cell DCT is separable and its lowest basis is constant, so each frequency is a sum of
    per-row terms: rows' sums and rows' first-frequency terms, then the same down the cells."""
    if mirrored:
        small = [row[::-1] for row in small]
    # Written for cells of 4 x 4 samples keeping 2 x 2 frequencies (CELL_SAMPLES, CELL_FREQ).
    c1, c3 = _CELL_DCT[1][:2]  # the first frequency's basis: c1, c3, -c3, -c1
    sums, firsts = [], []  # per sample row, per cell column
    for row in small:
        quads = list(zip(row[0::4], row[1::4], row[2::4], row[3::4]))
        sums.append([a + b + c + d for a, b, c, d in quads])
        firsts.append([c1 * (a - d) + c3 * (b - c) for a, b, c, d in quads])
    cells = []  # (mean, across, down, diagonal) per cell, row by row
    for y in range(0, BLOCKS * CELL_SAMPLES, CELL_SAMPLES):
        s, f = zip(*sums[y:y + CELL_SAMPLES]), zip(*firsts[y:y + CELL_SAMPLES])
        for (a, b, c, d), (e, g, h, k) in zip(s, f):
            cells.append((a + b + c + d, e + g + h + k, c1 * (a - d) + c3 * (b - c), c1 * (e - k) + c3 * (g - h)))
    means = sorted(cell[0] for cell in cells)
    median = means[len(means) // 2]
    word = 0
    for n, (mean, across, down, diagonal) in enumerate(cells):
        word |= ((mean > median) | (across > 0) << 1 | (down > 0) << 2 | (diagonal > 0) << 3) << (4 * n)
    return HashValue(word, 256)


def _spread(pairs):
    """pairs: (i, j, window) in order of preference. Reordered so that each next one is the
    first left whose busier keypoint spans the fewest pairs so far."""
    pairs, spans, out = list(pairs), Counter(), []
    while pairs:
        n = min(range(len(pairs)), key=lambda n: (max(spans[pairs[n][0]], spans[pairs[n][1]]), n))
        i, j, _ = pair = pairs.pop(n)
        spans[i] += 1
        spans[j] += 1
        out.append(pair)
    return out


def _image_and_picture(blocks):
    """The image's grid, and the grid of the picture in it: its content box sampled afresh at
    the full grid resolution (a screenshot's photo may fill a third of it), or the same grid
    when there is no box."""
    image = _Grid(blocks)
    box = image.content_box()
    if box == WHOLE:
        return image, image
    w, h = blocks.width, blocks.height
    pixels = (round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h))
    return image, _Grid(blocks, pixels)


BLOCKS = 8  # cells per side of the block hash
CELL_SAMPLES = 4  # samples per side of a cell
CELL_FREQ = 2  # DCT frequencies kept per side of a cell: 4 bits
_CELL_DCT = [[round(math.cos(math.pi / (2 * CELL_SAMPLES) * k * (2 * x + 1)) * 4096) for x in range(CELL_SAMPLES)]
             for k in range(CELL_FREQ)]


def _unmirrored(dct):
    """The DCT of the window or of its left-right mirror image, whichever is canonical, so that
    a mirrored copy (a selfie, a flipped repost, and every crop of one) hashes as the original.

    Mirroring negates the coefficients with an even column index (the basis functions odd
    about the middle). The canonical one has the sum of the lowest of those (i + j < 8)
    non-negative: the picture's broad left-right imbalance points the same way. (Of the
    rules tried on 200 turned and mirrored corpus photos, this one chose alike for the copy
    and the original every time; the largest coefficient's sign failed 4 times.)"""
    if not _mirror_is_canonical(dct):
        return dct
    return [[-v if j % 2 == 0 else v for j, v in enumerate(row)] for row in dct]


def _mirror_is_canonical(dct):
    """Whether a window's left-right mirror image is its canonical form (_unmirrored)."""
    return sum(dct[i][j] for i in _MIRROR_TERMS for j in _MIRROR_TERMS[i]) < 0


_MIRROR_TERMS = {i: range(0, 8 - i, 2) for i in range(8)}  # row -> columns of the DCT that rule sums


def _mirror_sum(samples):
    """The sum _mirror_is_canonical reads, from a window's SIDE x SIDE samples (rows) without
    their DCT (_MIRROR_WEIGHTS)."""
    return sum(map(int.__mul__, chain.from_iterable(samples), _MIRROR_WEIGHTS))


def _halve(values):
    """The grid at half the resolution: the mean of each 2 x 2 cells (a last odd row or column dropped)."""
    pairs = [list(map(int.__add__, a, b)) for a, b in zip(values[0::2], values[1::2])]
    return [[(a + b) >> 2 for a, b in zip(row[0::2], row[1::2])] for row in pairs]


def _inside(box, window):
    """`window` (shares of a picture) placed in `box` (shares of the image)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    return (x0 + window[0] * w, y0 + window[1] * h, x0 + window[2] * w, y0 + window[3] * h)


def _distinct(records, limit=None):
    """The first `limit` (or all) of the records that differ, from an iterable that may be
    lazy: the windows of pairs are hashed only until the budget is full."""
    seen, out = set(), []
    for r in records:
        if len(out) == limit:
            break
        if (r.type, r.value) not in seen:
            seen.add((r.type, r.value))
            out.append(r)
    return out


_DCT = _dct_table(SIDE, FREQUENCIES)
_DCT_OFFSET = [[v + _DCT_ONE for v in row] for row in _DCT]
# The sum _mirror_is_canonical reads is linear in the samples: these weights (row by row) give
# it exactly (the DCT is exact integer arithmetic), without the DCT.
_MIRROR_WEIGHTS = [sum(_DCT[i][y] * _DCT[j][x] for i in _MIRROR_TERMS for j in _MIRROR_TERMS[i])
                   for y in range(SIDE) for x in range(SIDE)]
# Samples are < 2**28 and weights sum to about 2**WEIGHT_BITS: after the shift, 48 bits per
# lane hold the result and the mask drops what the shift brought down from the next lane.
_GRID_MASK = _lane_mask(GRID, 64 - WEIGHT_BITS)
_SIDE_MASK = _lane_mask(SIDE, 64 - WEIGHT_BITS)


class _Grid:
    """The GRID x GRID luma samples of an image, and hashes of windows of it."""

    def __init__(self, blocks, box=None):
        """box: (x0, y0, x1, y1) pixels to sample only that part of the image (as if cropped)."""
        self.columns = blocks.samples(GRID, box)  # column j: a 64-bit lane per row
        x0, y0, x1, y1 = box or (0, 0, blocks.width, blocks.height)
        self.width, self.height = x1 - x0, y1 - y0
        self.blocks = blocks
        self._values = None
        self._halved = None
        self._halved_columns = None
        self._cell_samples = None
        self._samples = {}  # window -> its samples (packed, rows)
        self._hashed = {}  # window -> its PdqHash as sampled: the whole picture serves three hashes

    def values(self):
        """The grid as rows of ints (row i, column j)."""
        if self._values is None:
            cols = [_unsigned_lanes("Q", c.to_bytes(8 * GRID, "little")) for c in self.columns]
            self._values = [list(r) for r in zip(*cols)]
        return self._values

    def window_hash(self, window):
        """(HashValue, quality) of a window."""
        result = self.window_pdq(window)
        return result.hash, result.quality

    def window_pdq(self, window, unmirrored=True):
        """A window's hash as a PdqHash (with its DCT, for the rotations/flips); unmirrored=False
        keeps the DCT as sampled (turn it before choosing between it and its mirror image)."""
        sampled = self._hashed.get(window)
        if sampled is None:
            packed, samples = self.samples(window)
            dct = _dct(packed, samples)
            sampled = self._hashed[window] = PdqHash(_bits_above_median(dct), _quality(samples), dct)
        if not unmirrored:
            return sampled
        dct = _unmirrored(sampled._dct)
        return sampled if dct is sampled._dct else PdqHash(_bits_above_median(dct), sampled.quality, dct)

    def samples(self, window):
        """A window's SIDE x SIDE samples: (rows packed with a lane per column, rows)."""
        if window in self._samples:
            return self._samples[window]
        x0, y0, x1, y1 = window
        down = _area_weights(y0 * GRID, y1 * GRID)
        top, bottom = down[0][0], down[-1][0] + len(down[-1][1])  # the grid rows the window reads
        # Horizontal pass on the packed columns: SIDE new columns, a lane per grid row.
        cols = []  # per new column, a value per grid row the window reads
        for first, weights in _area_weights(x0 * GRID, x1 * GRID):
            acc = (_weighted_sum(weights, self.columns[first:first + len(weights)]) >> WEIGHT_BITS) & _GRID_MASK
            cols.append(_unsigned_lanes("Q", acc.to_bytes(8 * GRID, "little")[8 * top:8 * bottom]))
        rows = _packed_transpose(cols, bottom - top)  # grid row top + i: a lane per new column
        # Vertical pass: SIDE x SIDE samples, rows packed with a lane per column.
        packed, samples = [], []
        for first, weights in down:
            acc = (_weighted_sum(weights, rows[first - top:first - top + len(weights)]) >> WEIGHT_BITS) & _SIDE_MASK
            packed.append(acc)
            samples.append(_unsigned_lanes("Q", acc.to_bytes(8 * SIDE, "little")))
        self._samples[window] = packed, samples
        return packed, samples

    def pair_blocks(self, window):
        """(HashValue, quality) of a window as 8 x 8 cells (_block_bits), as it is or mirrored,
        whichever the window hash would take (_unmirrored), so a mirrored crop hashes alike.
        That choice reads only a weighted sum of the samples: no DCT needed."""
        _, samples = self.samples(window)
        return _block_bits(samples, _mirror_sum(samples) < 0), _quality(samples)

    def turned_hash(self, turn):
        """(HashValue, quality) of what a phone's straighten tool keeps of the photo when it
        turns it by `turn` ((sin, cos) of the angle): the centred rectangle of the photo's
        aspect ratio, turned, as large as fits without an empty corner. Point samples of the
        half-resolution grid (about two of its cells apart, as the area-weighted windows)."""
        sin, cos = turn
        w, h = self.width, self.height
        zoom = 1 / (cos + max(w / h, h / w) * abs(sin))
        fine = self.halved()
        rows, cols = len(fine), len(fine[0])
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
            row = [((fine[y][x] * (256 - fx) + fine[y][x + 1] * fx) * (256 - fy)
                    + (fine[y + 1][x] * (256 - fx) + fine[y + 1][x + 1] * fx) * fy) >> 16
                   for x, y, fx, fy in zip(xs, ys, fxs, fys)]
            samples.append(row)
            packed.append(_pack_lanes(row))
        return _bits_above_median(_unmirrored(_dct(packed, samples))), _quality(samples)

    def block_hash(self, mirrored=False):
        """(HashValue, quality) of the picture (or of its mirror image) as 8 x 8 cells of 4 bits
        each (_block_bits), from the grid's samples summed 4 x 4. Taken as the picture is, not
        made mirror-invariant as the windows are: a 20% sticker often tips the left-right
        balance that choice reads, and then every cell moves (docs/ROBUST.md)."""
        if self._cell_samples is None:  # an enrolled photo's two block hashes sum them once
            n = GRID // CELL_SAMPLES // BLOCKS  # grid cells per sample along each side
            rows = [[sum(r[i:i + n]) for i in range(0, GRID, n)] for r in self.values()]
            self._cell_samples = [list(map(sum, zip(*rows[y:y + n]))) for y in range(0, GRID, n)]
        return _block_bits(self._cell_samples, mirrored), self.window_pdq(WHOLE, unmirrored=False).quality

    def halved(self):
        if self._halved is None:
            self._halved = _halve(self.values())
        return self._halved

    def pairs_in_turn(self, sets):
        """The windows of pairs of each set of keypoints ((count, scale, spread, per turn), as
        ENROL_PAIRS), taken in turn: `per turn` of the first set's, then of the next set's, ..."""
        lists = [iter(self.pair_windows(count, spread, scale)) for count, scale, spread, _ in sets]
        out, more = [], True
        while more:
            more = False
            for windows, (_, _, _, per_turn) in zip(lists, sets):
                for window in islice(windows, per_turn):
                    out.append(window)
                    more = True
        return out

    def keypoints(self, count, scale=BLOB_SCALE):
        """The picture's `count` strongest keypoints, found at `scale` (hashing.keypoints)."""
        values = self.halved()  # blobs need no finer grid
        if self._halved_columns is None:  # each side finds blobs at two sizes
            self._halved_columns = _packed_transpose(values, len(values[0]))
        return keypoints(values, self._halved_columns, self.width, self.height, count, scale)

    def pair_windows(self, count, spread=False, scale=BLOB_SCALE):
        """Windows spanned by pairs of the `count` strongest keypoints (found at `scale`) that
        fit in the picture, the pairs of the strongest first: (0, 1), (0, 2), (1, 2), (0, 3),
        ... spread=True (for a query's few windows): each next window is the first pair left
        whose busier keypoint spans the fewest windows so far, so that one bad keypoint spoils
        few of them (an emoji or a sticker is often the strongest blob of a copy)."""
        w, h = self.width, self.height
        points = self.keypoints(count, scale)
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
        return [window for _, _, window in (_spread(out) if spread else out)]

    def content_box(self):
        """The picture without uniform borders, screenshot padding, status and navigation bars
        or caption bars (shares of the image); WHOLE when there are none.

        Rows first: a bar row is nearly all one colour, or (text on a bar: a status bar, a
        caption) has that colour at both ends and over half its length. Then columns, over
        the rows left: only uniform ones (a picture's side is never text on a bar). Found on
        the grid, then each edge is placed on the finer block grid: a cell is 1/128 of the
        image, and a screenshot's photo may fill only a third of it.
        """
        v = self.values()
        top, top_colour = _bar_lines(v, text=True)
        bottom, bottom_colour = _bar_lines(v[::-1], text=True)
        columns = [list(c) for c in zip(*v[top:GRID - bottom])]
        left, left_colour = _bar_lines(columns, text=False)
        right, right_colour = _bar_lines(columns[::-1], text=False)
        if top + bottom > GRID - MIN_CONTENT or left + right > GRID - MIN_CONTENT:
            return WHOLE
        if not (top or bottom or left or right):  # no bars: no edges to place
            return WHOLE
        b = self.blocks
        rows = [list(r) for r in b.grid]
        row_px, col_px = b.row_sizes, b.col_sizes
        y0 = _refine(rows, row_px, col_px, top, top_colour, b.ky, b.ky, b.height)
        y1 = 1 - _refine(rows[::-1], row_px[::-1], col_px, bottom, bottom_colour, _last(b.ky, b.height), b.ky,
                         b.height)
        r0, r1 = int(y0 * b.height) // b.ky, -(-int(y1 * b.height) // b.ky)
        cols = [list(c) for c in zip(*rows[r0:r1])]
        x0 = _refine(cols, col_px, row_px[r0:r1], left, left_colour, b.kx, b.kx, b.width)
        x1 = 1 - _refine(cols[::-1], col_px[::-1], row_px[r0:r1], right, right_colour, _last(b.kx, b.width), b.kx,
                         b.width)
        if x1 - x0 < MIN_CONTENT / GRID or y1 - y0 < MIN_CONTENT / GRID:
            return WHOLE
        return (x0, y0, x1, y1)


def _last(k, n):
    """The size of the last block along an axis of n pixels cut every k (for scanning backwards)."""
    return n - (n - 1) // k * k


def _refine(lines, line_px, cross_px, cells, colour, first_px, k, side):
    """Where a bar found to end about `cells` grid cells in ends on the block grid (a share of
    the side): the first block line near there that is not the bar's colour. lines are block
    sums from the bar's side on; line_px and cross_px the pixels each block sums each way (a
    tall image's blocks sum every other row); k the pixels a block spans along this axis, and
    first_px those of the first line (the last block of an axis may be shorter)."""
    if cells == 0:
        return 0.0
    start_px = max(0, (cells - 1) * side // GRID)
    stop_px = min(side, (cells + 2) * side // GRID)
    n = max(0, (start_px - first_px) // k + 1) if start_px else 0
    while n < len(lines):
        offset = first_px + (n - 1) * k if n else 0
        if offset >= stop_px:
            break
        if not _bar_block_line(lines[n], line_px[n], cross_px, colour):
            return offset / side
        n += 1
    return min(stop_px, side) / side


def _bar_block_line(line, rows, widths, colour):
    """Whether a line of block sums (LUMA_SCALE x luma; `rows` x widths[c] pixels each) is
    nearly all the bar's colour (a grid value: SAMPLE_SCALE x luma)."""
    near = 0
    for total, w in zip(line, widths):
        npx = rows * w * LUMA_SCALE
        if abs(total * SAMPLE_SCALE - colour * npx) <= BAR_TOLERANCE * npx:
            near += 1
    return near >= UNIFORM_SHARE * len(line)


BAR_TOLERANCE = 12 * SAMPLE_SCALE  # luma levels
UNIFORM_SHARE = 0.97  # a uniform bar line: this share of it near the bar's colour
TEXT_SHARE = 0.5  # a line of text on a bar: at least this share near the bar's colour...
MARGIN = GRID // 16  # ...and the bar's colour at both ends
LETTERS_SHARE = 0.25  # a line through a caption's big letters: at least this share near the bar's colour...
LETTERS_MARGIN = GRID // 64  # ...and at both ends (the letters may come closer to the edges than MARGIN)
MAX_BAR = int(GRID * 0.45)  # a phone screenshot of a landscape photo pads a third above and below
MIN_CONTENT = GRID // 4
PICTURE_LINES = 4


def _bar_lines(lines, text):
    """(How many lines from the start are a bar, the bar's colour) (see _Grid.content_box). A
    few lines that are not (an app's title) do not end a bar; PICTURE_LINES in a row do.

    On a bar that may hold text, lines through a caption's big letters (often wider than the
    margins and darker than half the line, but with the bar's colour between the letters) do
    not count towards those either, and the bar goes on over them if a uniform line follows
    (the bar's edge beyond the letters): a picture seldom has one there."""
    first = sorted(lines[0])
    colour = first[len(first) // 2]  # the bar's colour: the first line's median (a corner may be text)
    end, n, run, letters = 0, 0, 0, False
    while n < min(MAX_BAR, len(lines)) and run < PICTURE_LINES:
        line = lines[n]
        near = sum(1 for v in line if abs(v - colour) <= BAR_TOLERANCE)
        n += 1
        if near >= UNIFORM_SHARE * len(line):
            end, run, letters = n, 0, False
        elif text and near >= TEXT_SHARE * len(line) and not letters and _ends_near(line, colour, MARGIN):
            end, run = n, 0
        elif text and near >= LETTERS_SHARE * len(line) and _ends_near(line, colour, LETTERS_MARGIN):
            letters = True
        else:
            run += 1
    return end, colour


def _ends_near(line, colour, margin):
    """Whether the first and last `margin` values of a line are all near the bar's colour."""
    return all(abs(v - colour) <= BAR_TOLERANCE for v in line[:margin] + line[-margin:])


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


_WIDE = 16  # bytes per lane in the second DCT pass: its sums reach about 2**89
_OFFSET = 1 << 58  # makes the first pass's results (|v| < 2**57) non-negative for packing
_DCT_ROW_SUMS = [sum(row) for row in _DCT]


def _dct(packed, samples):
    """The 16 x 16 low-frequency DCT corner of SIDE x SIDE samples (rows packed and unpacked).

    Both passes are weighted sums of packed lines (the table offset to be non-negative, the
    offsets' contribution taken back out after): first of the sample rows, then, transposed,
    of the first pass's columns in 128-bit lanes."""
    column_sums = [sum(c) for c in zip(*samples)]
    ds = []  # ds[k][j] = sum_i D[k][i] * S[i][j]
    for d in _DCT_OFFSET:
        acc = _weighted_sum(d, packed)
        lanes = _unsigned_lanes("Q", acc.to_bytes(8 * SIDE, "little"))
        ds.append([v - _DCT_ONE * s for v, s in zip(lanes, column_sums)])
    # b[k][l] = sum_j ds[k][j] * D[l][j]: column j of ds packed with a lane per k.
    columns = [int.from_bytes(b"".join((v + _OFFSET).to_bytes(_WIDE, "little") for v in col), "little")
               for col in zip(*ds)]
    row_sums = [sum(row) for row in ds]
    out = [[0] * FREQUENCIES for _ in range(FREQUENCIES)]
    constant = SIDE * _DCT_ONE * _OFFSET
    for l, d in enumerate(_DCT_OFFSET):
        raw = _weighted_sum(d, columns).to_bytes(_WIDE * FREQUENCIES, "little")
        fixed = _OFFSET * _DCT_ROW_SUMS[l] + constant
        for k in range(FREQUENCIES):
            lane = int.from_bytes(raw[k * _WIDE:(k + 1) * _WIDE], "little")
            out[k][l] = lane - fixed - _DCT_ONE * row_sums[k]
    return out


def _quality(samples):
    """PDQ's quality (the sum of gradients, 0-100) for a SIDE x SIDE window: half as many
    samples per side as PDQ's, so each gradient is about twice PDQ's and the divisor is halved
    twice over (a quarter of the pairs). Summed whole (PDQ truncates each term).

    Summed over the samples as one flat list (long runs instead of 63 short ones; the
    neighbours across a row's end are no neighbours, so their differences are taken back
    out), and the vertical gradients first: in most windows they alone reach 100."""
    flat = list(chain.from_iterable(samples))
    total = sum(map(abs, map(sub, flat, flat[SIDE:])))
    if total < _FULL_QUALITY:
        total += sum(map(abs, map(sub, flat, flat[1:])))
        total -= sum(map(abs, map(sub, flat[SIDE - 1:-1:SIDE], flat[SIDE::SIDE])))
    return min(100, total * 100 // (255 * SAMPLE_SCALE) // 45)


_FULL_QUALITY = 45 * 255 * SAMPLE_SCALE  # a sum of gradients from which _quality is 100
