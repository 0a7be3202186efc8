"""Packed lanes: many small unsigned integers in one big Python integer, added and multiplied at
C speed (a SWAR kernel), and the fixed-point DCT table the hashes multiply them by.

Pure Python is far too slow for a per-sample loop over a photo's grid, and numpy is not in the
standard library. But Python's big integers are: a line of n values packed as one integer with
a 64-bit lane per value (value i at bit 64 * i) is added to another line, or multiplied by a
small weight, lane by lane in one operation, as long as no lane overflows into the next. Every
filter pass of hashing.pdq, hashing.grid and hashing.keypoints is such a weighted sum of whole
packed lines (weighted_sum), cut back to fewer bits per lane after it (a shift and lane_mask);
a pass over the other axis packs the lines transposed (packed_transpose).

Lanes are unsigned: a sum with negative weights (a DCT) offsets its weights to be non-negative
and takes the offset's contribution back out per lane (signed_weighted_sums, the first pass of
hashing.pdq's and hashing.windowhash's DCTs).
Everything is integer arithmetic, so CPython and Pyodide give the same bits.
"""
import math
import sys
from array import array
from collections.abc import Iterable, Sequence

DCT_BITS = 24  # fixed-point precision of the DCT tables (|entries| <= 2**24)
DCT_ONE = 1 << DCT_BITS  # a DCT table's 1.0: added to an entry, it makes it non-negative


def unsigned_lanes(typecode: str, little_endian: bytes) -> Sequence[int]:
    """Little-endian bytes as an array of 32-bit ("I") or 64-bit ("Q") unsigned lanes."""
    lanes = array(typecode, little_endian)
    if sys.byteorder == "big":
        lanes.byteswap()
    return lanes


def pack_lanes(values: Iterable[int]) -> int:
    """Unsigned values as one integer with a 64-bit lane each (value i at bit 64 * i)."""
    lanes = array("Q", values)
    if sys.byteorder == "big":
        lanes.byteswap()
    return int.from_bytes(lanes.tobytes(), "little")


def packed_transpose(lines: Sequence[Sequence[int]], n: int) -> list[int]:
    """Lines of n unsigned values each (arrays or lists), transposed and packed: n integers,
    the k-th with a 64-bit lane per line holding its value k (a pass over one axis becomes
    lines along the other, without packing a line at a time)."""
    transposed = array("Q", bytes(8 * n * len(lines)))
    for j, line in enumerate(lines):
        transposed[j::len(lines)] = line if isinstance(line, array) else array("Q", line)
    if sys.byteorder == "big":
        transposed.byteswap()
    flat, size = transposed.tobytes(), 8 * len(lines)
    return [int.from_bytes(flat[k:k + size], "little") for k in range(0, len(flat), size)]


def weighted_sum(weights: Iterable[int], lines: Iterable[int]) -> int:
    """sum(w * line): whole packed lines at once, each lane summed on its own."""
    acc = 0
    for weight, line in zip(weights, lines):
        acc += weight * line
    return acc


def lane_mask(lanes: int, bits: int) -> int:
    """An integer with the low `bits` bits of each of `lanes` 64-bit lanes set."""
    return int.from_bytes(((1 << bits) - 1).to_bytes(8, "little") * lanes, "little")


def dct_table(samples: int, frequencies: int) -> list[list[int]]:
    """The lowest `frequencies` rows of the DCT of `samples` points without the DC row,
    cos((pi / (2 * samples)) * (k + 1) * (2x + 1)), rounded to fixed point (DCT_ONE is 1.0;
    the common factor sqrt(2 / samples) cannot change a median test). PDQ's is 16 x 64."""
    return [
        [round(math.cos(math.pi / (2 * samples) * (k + 1) * (2 * x + 1)) * DCT_ONE) for x in range(samples)]
        for k in range(frequencies)
    ]


def offset_table(table: Iterable[Iterable[int]]) -> list[list[int]]:
    """A fixed-point table (|entries| <= DCT_ONE) plus DCT_ONE: non-negative weights for
    signed_weighted_sums."""
    return [[v + DCT_ONE for v in row] for row in table]


def signed_weighted_sums(offset_rows: Iterable[Iterable[int]], lines: Sequence[int],
                         lane_sums: Sequence[int]) -> list[list[int]]:
    """Per row d of a table of either sign (given offset: offset_table), sum_i d[i] * lines[i]
    lane by lane, as a list of ints (one per lane). The packed sums run on the offset weights
    and DCT_ONE times each lane's plain sum of the lines' values (lane_sums) is taken back out."""
    n = len(lane_sums)
    out = []
    for d in offset_rows:
        acc = weighted_sum(d, lines)
        lanes = unsigned_lanes("Q", acc.to_bytes(8 * n, "little"))
        out.append([v - DCT_ONE * s for v, s in zip(lanes, lane_sums)])
    return out
