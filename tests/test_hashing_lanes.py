"""hashing.lanes: the packed-lane kernel against plain Python, lane by lane."""
import math
import random

from hashing.lanes import (
    DCT_ONE, dct_table, lane_mask, offset_table, pack_lanes, packed_transpose, signed_weighted_sums, unsigned_lanes,
    weighted_sum,
)


def packed(values):
    """The plain definition: value i at bit 64 * i."""
    return sum(v << (64 * i) for i, v in enumerate(values))


def unpacked(line, lanes):
    return [(line >> (64 * i)) & ((1 << 64) - 1) for i in range(lanes)]


def test_pack_lanes_and_unsigned_lanes_are_the_plain_packing():
    rng = random.Random(1)
    for n in (1, 5, 64, 128):
        values = [rng.randrange(1 << 64) for _ in range(n)]
        line = pack_lanes(values)
        assert line == packed(values)
        assert list(unsigned_lanes("Q", line.to_bytes(8 * n, "little"))) == values
        small = [rng.randrange(1 << 32) for _ in range(n)]
        as_bytes = sum(v << (32 * i) for i, v in enumerate(small)).to_bytes(4 * n, "little")
        assert list(unsigned_lanes("I", as_bytes)) == small


def test_packed_transpose_is_packing_the_transposed_lines():
    rng = random.Random(3)
    for lines, n in ((7, 5), (32, 60), (1, 3)):
        rows = [[rng.randrange(1 << 48) for _ in range(n)] for _ in range(lines)]
        assert packed_transpose(rows, n) == [pack_lanes(c) for c in zip(*rows)]
        assert packed_transpose(rows, n) == [packed([row[k] for row in rows]) for k in range(n)]


def test_weighted_sum_sums_each_lane_on_its_own():
    rng = random.Random(5)
    n, count = 33, 9
    lines = [[rng.randrange(1 << 40) for _ in range(n)] for _ in range(count)]
    weights = [rng.randrange(1 << 16) for _ in range(count)]
    acc = weighted_sum(weights, [pack_lanes(line) for line in lines])
    expected = [sum(w * line[i] for w, line in zip(weights, lines)) for i in range(n)]
    assert unpacked(acc, n) == expected  # < 2**60: no lane overflows into the next


def test_a_shift_and_lane_mask_cut_every_lane():
    rng = random.Random(7)
    n, shift = 20, 16
    values = [rng.randrange(1 << 64) for _ in range(n)]
    cut = (pack_lanes(values) >> shift) & lane_mask(n, 64 - shift)
    assert unpacked(cut, n) == [v >> shift for v in values]
    assert lane_mask(3, 8) == packed([255, 255, 255])


def test_signed_weighted_sums_take_the_offset_back_out():
    rng = random.Random(11)
    n, count = 24, 32
    lines = [[rng.randrange(1 << 28) for _ in range(n)] for _ in range(count)]
    table = dct_table(count, 16)  # weights of either sign
    lane_sums = [sum(line[i] for line in lines) for i in range(n)]
    out = signed_weighted_sums(offset_table(table), [pack_lanes(line) for line in lines], lane_sums)
    assert out == [[sum(d[k] * line[i] for k, line in enumerate(lines)) for i in range(n)] for d in table]


def test_dct_table_is_the_rounded_cosines():
    for samples, frequencies in ((64, 16), (32, 16), (4, 2)):
        table = dct_table(samples, frequencies)
        assert len(table) == frequencies and all(len(row) == samples for row in table)
        for k, row in enumerate(table):
            for x, v in enumerate(row):
                exact = math.cos(math.pi / (2 * samples) * (k + 1) * (2 * x + 1)) * DCT_ONE
                assert abs(v - exact) <= 0.5


def plain_dct(table, rows):
    """D * S * D^T in plain integers: rows of vertical frequency, columns of horizontal."""
    ds = [[sum(d[i] * rows[i][j] for i in range(len(rows))) for j in range(len(rows[0]))] for d in table]
    return [[sum(a * b for a, b in zip(dsk, d)) for d in table] for dsk in ds]


def test_the_packed_dcts_are_the_plain_matrix_products():
    # PDQ's (64 x 64 samples, packed by column) and a window's (32 x 32, packed by row), on
    # samples as large as the filters make them (< 2**28).
    from hashing import pdq
    from hashing.grid import SIDE, WindowSamples
    from hashing.windowhash import FREQUENCIES, window_dct

    rng = random.Random(9)
    rows = [[rng.randrange(1 << 28) for _ in range(SIDE)] for _ in range(SIDE)]
    assert window_dct(WindowSamples([pack_lanes(r) for r in rows], rows)) == plain_dct(dct_table(SIDE, FREQUENCIES), rows)
    rows = [[rng.randrange(1 << 28) for _ in range(pdq.SAMPLES)] for _ in range(pdq.SAMPLES)]
    columns = [list(c) for c in zip(*rows)]
    packed = [pack_lanes(c) for c in columns]
    assert pdq._dct16(packed, columns) == plain_dct(dct_table(pdq.SAMPLES, pdq.DCT_SIDE), rows)
