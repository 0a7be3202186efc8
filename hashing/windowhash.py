"""Window hashes: PDQ's 256 bits of a window of the luma grid, the same for its mirror image.

A window's SIDE x SIDE samples (hashing.grid) go through the 16 x 16 low-frequency corner of
their DCT (window_dct, two passes of weighted sums of packed lines: hashing.lanes) and PDQ's
median rule, as PDQ's 64 x 64 samples do; quality is PDQ's sum of gradients, rescaled.

A mirrored copy (a selfie, a flipped repost, and every crop of one) should hash as the original:
mirroring negates the DCT coefficients with an even column index, so each window's DCT is
taken in its canonical orientation (canonical_orientation: the one whose broad left-right
imbalance is non-negative) before its bits are read. The block hashes of pair windows
(hashing.blockhash) read the same choice from the samples alone (mirror_sum).

All integer arithmetic after the float DCT table, so CPython and Pyodide give the same bits.
"""
from collections.abc import Iterable, Sequence
from itertools import chain
from operator import sub
from typing import NamedTuple

from .grid import SIDE, Grid, Turn, Window, WindowSamples
from .hashvalue import HashValue
from .lanes import DCT_ONE, dct_table, offset_table, signed_weighted_sums, weighted_sum
from .pdq import SAMPLE_SCALE, PdqHash, bits_above_median
from .records import HashRecord

FREQUENCIES = 16  # DCT frequencies kept per side: 256 bits, as PDQ
_DCT = dct_table(SIDE, FREQUENCIES)
_DCT_OFFSET = offset_table(_DCT)  # non-negative for packed lanes
_DCT_ROW_SUMS = [sum(row) for row in _DCT]
_WIDE = 16  # bytes per lane in the second DCT pass: its sums reach about 2**89
_OFFSET = 1 << 58  # makes the first pass's results (|v| < 2**57) non-negative for packing
# The canonical orientation's rule sums the DCT's lowest coefficients (i + j < 8) with an even
# column index: row -> its columns.
_MIRROR_TERMS = {i: range(0, 8 - i, 2) for i in range(8)}
# That sum is linear in the samples: these weights (row by row) give it exactly (the DCT is
# exact integer arithmetic), without the DCT.
_MIRROR_WEIGHTS = [sum(_DCT[i][y] * _DCT[j][x] for i in _MIRROR_TERMS for j in _MIRROR_TERMS[i])
                   for y in range(SIDE) for x in range(SIDE)]
_FULL_QUALITY = 45 * 255 * SAMPLE_SCALE  # a sum of gradients from which window_quality is 100


class Hash(NamedTuple):
    """A perceptual hash of a window or of a picture's blocks, and its 0-100 quality."""
    value: HashValue
    quality: int

    def record(self, type: str) -> HashRecord:
        """As a HashRecord of the given type ("pdq-window", "pdq-blocks", ...)."""
        return HashRecord(type, self.value.hex(), self.quality)


def window_hash(grid: Grid, window: Window) -> Hash:
    """The Hash of a window of a hashing.grid.Grid, in its canonical orientation."""
    sampled = sampled_hash(grid, window)
    dct = canonical_orientation(sampled.dct)
    return Hash(sampled.hash if dct is sampled.dct else bits_above_median(dct), sampled.quality)


def sampled_hash(grid: Grid, window: Window) -> PdqHash:
    """A window's hash as a hashing.pdq.PdqHash with its DCT as sampled, not in its canonical
    orientation (the rotations/flips turn it before choosing between it and its mirror image).
    Computed once per window: the whole picture serves three hashes."""
    sampled = grid.sampled_hashes.get(window)
    if sampled is None:
        samples = grid.samples(window)
        dct = window_dct(samples)
        sampled = grid.sampled_hashes[window] = PdqHash(bits_above_median(dct), window_quality(samples.rows), dct)
    return sampled


def turned_hash(grid: Grid, turn: Turn) -> Hash:
    """The Hash of what a phone's straighten tool keeps of the picture when it turns it by
    `turn` (hashing.grid.Grid.turned_samples), in its canonical orientation."""
    samples = grid.turned_samples(turn)
    return Hash(bits_above_median(canonical_orientation(window_dct(samples))), window_quality(samples.rows))


def canonical_orientation(dct: list[list[int]]) -> list[list[int]]:
    """The DCT of the window or of its left-right mirror image, whichever is canonical, so that
    a mirrored copy (a selfie, a flipped repost, and every crop of one) hashes as the original.

    Mirroring negates the coefficients with an even column index (the basis functions odd
    about the middle). The canonical one has the sum of the lowest of those (i + j < 8)
    non-negative: the picture's broad left-right imbalance points the same way. (Of the
    rules tried on 200 turned and mirrored corpus photos, this one chose alike for the copy
    and the original every time; the largest coefficient's sign failed 4 times.)
    Returns `dct` itself when it is canonical."""
    if not mirror_is_canonical(dct):
        return dct
    return [[-v if j % 2 == 0 else v for j, v in enumerate(row)] for row in dct]


def mirror_is_canonical(dct: Sequence[Sequence[int]]) -> bool:
    """Whether a window's left-right mirror image is its canonical form (canonical_orientation)."""
    return sum(dct[i][j] for i in _MIRROR_TERMS for j in _MIRROR_TERMS[i]) < 0


def mirror_sum(rows: Iterable[Iterable[int]]) -> int:
    """The sum mirror_is_canonical reads, from a window's SIDE x SIDE samples (rows) without
    their DCT (_MIRROR_WEIGHTS): negative when the mirror image is canonical."""
    return sum(map(int.__mul__, chain.from_iterable(rows), _MIRROR_WEIGHTS))


def window_dct(samples: WindowSamples) -> list[list[int]]:
    """The 16 x 16 low-frequency DCT corner of a window's SIDE x SIDE samples (WindowSamples:
    rows packed and unpacked), rows of vertical frequency.

    Both passes are weighted sums of packed lines (the table offset to be non-negative, the
    offsets' contribution taken back out after): first of the sample rows, then, transposed,
    of the first pass's columns in 128-bit lanes."""
    packed, rows = samples
    column_sums = [sum(c) for c in zip(*rows)]
    ds = signed_weighted_sums(_DCT_OFFSET, packed, column_sums)  # ds[k][j] = sum_i D[k][i] * S[i][j]
    # b[k][m] = sum_j ds[k][j] * D[m][j]: column j of ds packed with a lane per k.
    columns = [int.from_bytes(b"".join((v + _OFFSET).to_bytes(_WIDE, "little") for v in col), "little")
               for col in zip(*ds)]
    row_sums = [sum(row) for row in ds]
    out = [[0] * FREQUENCIES for _ in range(FREQUENCIES)]
    constant = SIDE * DCT_ONE * _OFFSET
    for m, d in enumerate(_DCT_OFFSET):
        raw = weighted_sum(d, columns).to_bytes(_WIDE * FREQUENCIES, "little")
        fixed = _OFFSET * _DCT_ROW_SUMS[m] + constant
        for k in range(FREQUENCIES):
            lane = int.from_bytes(raw[k * _WIDE:(k + 1) * _WIDE], "little")
            out[k][m] = lane - fixed - DCT_ONE * row_sums[k]
    return out


def window_quality(rows: Iterable[Iterable[int]]) -> int:
    """PDQ's quality (the sum of gradients, 0-100) for a SIDE x SIDE window: half as many
    samples per side as PDQ's, so each gradient is about twice PDQ's and the divisor is halved
    twice over (a quarter of the pairs). Summed whole (PDQ truncates each term).

    Summed over the samples as one flat list (long runs instead of 63 short ones; the
    neighbours across a row's end are no neighbours, so their differences are taken back
    out), and the vertical gradients first: in most windows they alone reach 100."""
    flat = list(chain.from_iterable(rows))
    total = sum(map(abs, map(sub, flat, flat[SIDE:])))
    if total < _FULL_QUALITY:
        total += sum(map(abs, map(sub, flat, flat[1:])))
        total -= sum(map(abs, map(sub, flat[SIDE - 1:-1:SIDE], flat[SIDE::SIDE])))
    return min(100, total * 100 // (255 * SAMPLE_SCALE) // 45)
