"""Block hashes: a picture as 8 x 8 cells of 4 bits, which a sticker or a line of text damages
only where it covers.

A window hash's every bit depends on the whole window, so a sticker over a fifth of a photo
flips many of them. A block hash keeps each cell's bits to the cell: the signs of the 3 lowest
frequencies of the cell's DCT (of CELL_SAMPLES x CELL_SAMPLES samples) and whether its mean is
above the cells' median (block_bits). It is taken of the whole picture (picture_block_hash,
as the picture is and mirrored: a sticker often tips the left-right balance the window hashes'
mirror choice reads), of each window spanned by a pair of keypoints (pair_block_hash, in the
orientation the window's hash would take) and of each video frame (frame_block_record, from
the samples its PDQ has just used).
"""
import math
from collections.abc import Sequence

from .grid import GRID, WHOLE, Grid, Window
from .hashvalue import HashValue
from .pdq import SAMPLES, LumaBlocks, PdqHash
from .records import HashRecord
from .windowhash import Hash, mirror_sum, sampled_hash, window_quality

BLOCKS = 8  # cells per side of the block hash
CELL_SAMPLES = 4  # samples per side of a cell
CELL_FREQ = 2  # DCT frequencies kept per side of a cell: 4 bits
_CELL_DCT = [[round(math.cos(math.pi / (2 * CELL_SAMPLES) * k * (2 * x + 1)) * 4096) for x in range(CELL_SAMPLES)]
             for k in range(CELL_FREQ)]


def picture_block_hash(grid: Grid, mirrored: bool = False) -> Hash:
    """The Hash of a hashing.grid.Grid's picture (or of its mirror image) as 8 x 8 cells of 4
    bits each (block_bits), from the grid's cells summed 4 x 4. Taken as the picture is, not
    made mirror-invariant as the windows are: a 20% sticker often tips the left-right balance
    that choice reads, and then every cell moves (docs/ROBUST.md). Its quality: the whole
    window's."""
    small = grid.summed(GRID // CELL_SAMPLES // BLOCKS)  # grid cells per sample along each side
    return Hash(block_bits(small, mirrored), sampled_hash(grid, WHOLE).quality)


def pair_block_hash(grid: Grid, window: Window) -> Hash:
    """The Hash of a window as 8 x 8 cells (block_bits), as it is or mirrored, whichever the
    window hash would take (hashing.windowhash.canonical_orientation), so a mirrored crop
    hashes alike. That choice reads only a weighted sum of the samples: no DCT needed."""
    rows = grid.samples(window).rows
    return Hash(block_bits(rows, mirror_sum(rows) < 0), window_quality(rows))


def frame_block_record(blocks: LumaBlocks, pdq: PdqHash) -> HashRecord:
    """The pdq-blocks record of a video frame (its bars already trimmed), from the samples its
    PDQ (`pdq`, of `blocks`) has just used: a block hash for a few milliseconds more per frame,
    where the photos' finer grid would add half of PDQ's time. As the frame is, not mirrored:
    vPDQ matches no mirrored video either."""
    _, values = blocks.pdq_samples()  # values[j][i]: row i of column j, 64 x 64
    n = SAMPLES // (BLOCKS * CELL_SAMPLES)
    small = [[sum(values[x * n + dx][y * n + dy] for dx in range(n) for dy in range(n))
              for x in range(BLOCKS * CELL_SAMPLES)] for y in range(BLOCKS * CELL_SAMPLES)]
    return HashRecord("pdq-blocks", block_bits(small).hex(), pdq.quality)


def block_bits(small: Sequence[Sequence[int]], mirrored: bool = False) -> HashValue:
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
