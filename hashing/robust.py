"""Robust hashes: extra perceptual hashes that let cropped, captioned, stickered, padded,
rotated and mirrored copies of a photo still match. This module is the policy: which hashes
each side takes, of which windows, within which budget.

PDQ only matches a copy whose picture lines up with the original's to about 2% of its size:
a crop, caption bars or screenshot padding move every edge further than that. So besides its
PDQ, a photo gets hashes of *windows* of it, all cut from one luma grid (hashing.grid: PDQ's
own filter, sampled 128 x 128 by the one pass over the pixels that serves PDQ too):

* "pdq-window": the same 16 x 16 low-frequency DCT bits as PDQ, of one rectangle of the
  picture resampled to 32 x 32, in its canonical orientation so that a mirror image hashes
  alike (hashing.windowhash).
* "pdq-dihedral": the window hash of the 3 quarter turns of the whole photo (free: from its
  DCT's signs, as PDQ's reference does).
* "pdq-blocks": the picture as 8 x 8 cells of 4 bits, which a sticker or text damages only
  where it covers (hashing.blockhash).
* "pdq-pair-blocks": the same block hash of a window spanned by a pair of keypoints
  (hashing.keypoints, found at two sizes: a crop sees them larger), which a crop keeps
  wherever its edges fall: a crop with a sticker or a caption on it still matches.

The enrolled side (a person's photo, at most ENROL_BUDGET extra hashes) hashes many windows:
the whole photo, centred crops, its content box (hashing.borders), the centred part a phone's
straighten tool keeps when it turns the photo a few degrees, and, filling the budget, windows
of pairs of its keypoints. The query side (an upload, at most QUERY_BUDGET) hashes few: the
whole upload, the picture in its content box (without borders, screenshot padding or caption
bars), the windows of pairs of its strongest keypoints (also at two sizes), and its block
hash. hashing.match.image_match compares them; docs/ROBUST.md has the reasons and the
measurements.

Everything is integer arithmetic after the float weights (basic IEEE operations only, and
literal sines), so CPython and Pyodide give the same bits.
"""
from collections.abc import Iterable, Sequence
from itertools import chain, islice
from typing import NamedTuple, TypeVar

from .blockhash import frame_block_record, pair_block_hash, picture_block_hash
from .borders import content_box
from .grid import WHOLE, Grid, Turn, Window
from .keypoints import SCALE as BLOB_SCALE, pair_windows
from .pdq import LumaBlocks, bits_above_median
from .pixels import Pixels
from .records import HashRecord
from .windowhash import Hash, canonical_orientation, sampled_hash, turned_hash, window_hash

__all__ = ["enrol_hashes", "query_hashes", "frame_block_record", "frame_enrol_hashes", "frame_query_hashes"]

ENROL_BUDGET = 64  # extra hash records of an enrolled photo, at most
QUERY_BUDGET = 8  # extra hash records of a query, at most
TURNED = ("rotate90", "rotate180", "rotate270")  # hashing.pdq's names of the quarter turns

_T = TypeVar("_T")


def _centred():
    """Centred crops at every 2.5%, from 2.5% to 15% off each edge: a centred crop of the
    photo lands within PDQ's ~2% tolerance of one of them."""
    return [(m, m, 1 - m, 1 - m) for m in (0.025, 0.05, 0.075, 0.1, 0.125, 0.15)]


ENROL_WINDOWS = [WHOLE] + _centred()
# A phone's straighten tool turns a photo by a few degrees and crops it to its aspect ratio:
# (sin, cos) of -5, -3.5, -2, 2, 3.5 and 5 degrees (literals: the same bits on every platform;
# a turn between two of them is at most 0.75 degrees off, which PDQ's bits survive).
TURNS = [Turn(-0.08715574274765817, 0.9961946980917455), Turn(-0.06104853953485687, 0.9981347984218669),
         Turn(-0.03489949670250097, 0.9993908270190958), Turn(0.03489949670250097, 0.9993908270190958),
         Turn(0.06104853953485687, 0.9981347984218669), Turn(0.08715574274765817, 0.9961946980917455)]


class PairSet(NamedTuple):
    """Which windows of keypoint pairs a side hashes: those of its `count` strongest keypoints,
    found at `scale` (a share of the longer side), `spread` over them or not
    (hashing.keypoints.pair_windows), `per_turn` windows at a time (pairs_in_turn)."""
    count: int  # type: ignore[assignment]  # a field named as tuple.count, which it hides
    scale: float
    spread: bool
    per_turn: int


# Windows spanned by pairs of keypoints (hashing.keypoints): a crop keeps most of the photo's
# blobs where they were in the picture, so a window placed by two of them is found again.
# Blobs are found at a size that is a share of the picture's longer side, so a crop that keeps
# 84% of it (30% of the area) sees them 19% larger, finds other ones and places the same ones
# a little elsewhere. So each side takes pairs from blobs found at two sizes, a few windows
# of each in turn: the enrolled photo's at its own size and as such a crop sees them (1/76),
# the upload's at its own size and as if it were such a crop (1/54). That pairs crops keeping
# 100%, 84% and 71% of the side with the scale they see the photo at.
ENROL_PAIRS = (PairSet(12, BLOB_SCALE, False, 2), PairSet(8, 1 / 76, True, 1))
QUERY_PAIRS = (PairSet(8, BLOB_SCALE, True, 1), PairSet(8, 1 / 54, True, 1))


def enrol_hashes(pixels: Pixels, blocks: LumaBlocks | None = None) -> list[HashRecord]:
    """The extra hash records of a photo a person enrols: windows, the block hashes of windows
    of keypoint pairs, rotations/flips, block hashes."""
    blocks = blocks or LumaBlocks(pixels)
    image, picture = _image_and_picture(blocks)
    hashes = [window_hash(image, WHOLE)] if picture is not image else []
    hashes += [window_hash(picture, w) for w in ENROL_WINDOWS] + [turned_hash(picture, t) for t in TURNS]
    windows = [h.record("pdq-window") for h in hashes]
    room = ENROL_BUDGET - len(TURNED) - 2
    out = _distinct(chain(windows, _pair_records(picture, ENROL_PAIRS)), room)
    # The block hash as the photo is and as its mirror image is: a copy's is taken as it is,
    # and a mirrored copy's then matches the second.
    out += [picture_block_hash(picture, mirrored).record("pdq-blocks") for mirrored in (False, True)]
    # The photo turned a quarter, a half and three quarters (its mirror images hash as it
    # does), from its window's DCT: a window's samples sit symmetrically in it, so these are
    # exactly the hashes of the turned photo (PDQ's own samples are a pixel off centre, which
    # some detailed photos notice). The whole image, not the picture: a turned copy's content
    # box is found by other rules (columns are never text on a bar).
    whole = sampled_hash(image, WHOLE)
    turned = whole.dihedral_dcts()
    out += [Hash(bits_above_median(canonical_orientation(turned[name])), whole.quality).record("pdq-dihedral")
            for name in TURNED]
    return _distinct(out)


def query_hashes(pixels: Pixels, blocks: LumaBlocks | None = None) -> list[HashRecord]:
    """The extra hash records of an upload a platform checks: the whole upload; the picture in
    it (without borders, screenshot padding or caption bars); the block hashes of windows of
    pairs of the picture's strongest keypoints; the picture's block hash."""
    blocks = blocks or LumaBlocks(pixels)
    image, picture = _image_and_picture(blocks)
    hashes = [window_hash(image, WHOLE)] if picture is not image else []
    hashes += [window_hash(picture, WHOLE)]
    windows = [h.record("pdq-window") for h in hashes]
    windows = _distinct(chain(windows, _pair_records(picture, QUERY_PAIRS)), QUERY_BUDGET - 1)
    return windows + [picture_block_hash(picture).record("pdq-blocks")]


def pairs_in_turn(grid: Grid, sets: Sequence[PairSet]) -> list[Window]:
    """The windows of pairs of each PairSet's keypoints of a grid, taken in turn: `per_turn`
    of the first set's, then of the next set's, ..."""
    return in_turn([pair_windows(grid.keypoints(s.count, s.scale), grid.width, grid.height, s.spread) for s in sets],
                   [s.per_turn for s in sets])


def in_turn(lists: Iterable[Iterable[_T]], per_turn: Iterable[int]) -> list[_T]:
    """The items of the lists taken in turn: per_turn[0] of the first, per_turn[1] of the next,
    ..., again from the first, until all are taken."""
    iterators = [iter(items) for items in lists]
    out, more = [], True
    while more:
        more = False
        for items, count in zip(iterators, per_turn):
            for item in islice(items, count):
                out.append(item)
                more = True
    return out


def _pair_records(picture, sets):
    """The "pdq-pair-blocks" records of the windows of pairs of keypoints (lazily: they are
    hashed only until the budget is full)."""
    return (pair_block_hash(picture, w).record("pdq-pair-blocks") for w in pairs_in_turn(picture, sets))


def _image_and_picture(blocks):
    """The image's grid, and the grid of the picture in it: its content box sampled afresh at
    the full grid resolution (a screenshot's photo may fill a third of it), or the same grid
    when there is no box."""
    image = Grid(blocks)
    box = content_box(image)
    if box == WHOLE:
        return image, image
    w, h = blocks.width, blocks.height
    pixels = (round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h))
    return image, Grid(blocks, pixels)


def _distinct(records: Iterable[HashRecord], limit: int | None = None) -> list[HashRecord]:
    """The first `limit` (or all) of the records that differ, from an iterable that may be
    lazy: the windows of pairs are hashed only until the budget is full."""
    out: list[HashRecord]
    seen, out = set(), []
    for r in records:
        if len(out) == limit:
            break
        if (r.type, r.value) not in seen:
            seen.add((r.type, r.value))
            out.append(r)
    return out


# Video frames (hashing.video). Every frame of both sides gets the window hash of its picture
# (the frame without letterbox bars, caption bars or a screen recording's app bars:
# hashing.borders), which is mirror-invariant: a mirrored, captioned or screen-recorded copy's
# frame matches it. The enrolled side adds, for a spread of its frames (hashing.video), the
# centred windows a copy cropped to a phone's aspect ratio keeps (FRAME_ASPECTS, width:height),
# each sampled on a grid of its own: a 9:16 crop of a 16:9 frame keeps under a third of it.
FRAME_ASPECTS = ((9, 16), (1, 1), (4, 5))
# An aspect crop that keeps more than this share of the frame's width (or height) is left to
# the frame's own hashes: PDQ's tolerance and the window's cover it.
FRAME_ASPECT_KEEPS = 0.9
# Windows of keypoint pairs (as a photo's, hashing.keypoints) for crops anywhere in the frame:
# a key frame's enrolled pair blocks, each sampled query frame's few.
ENROL_FRAME_PAIRS = (PairSet(10, BLOB_SCALE, False, 2), PairSet(8, 1 / 76, True, 1))
ENROL_FRAME_PAIR_COUNT = 8
QUERY_FRAME_PAIRS = (PairSet(6, BLOB_SCALE, True, 1), PairSet(6, 1 / 54, True, 1))
QUERY_FRAME_PAIR_COUNT = 2
# A crop to a phone's aspect ratio anywhere along a wide frame keeps its full height, so it
# sees the frame's blobs at the size a square of that height does (keypoints are found at a
# share of the longer side): windows of keypoint pairs of squares along the frame (its
# first, middle and last) find such crops wherever they were cut.
SQUARES = 3  # first, middle, last
SQUARE_KEYPOINTS = (PairSet(8, BLOB_SCALE, True, 1),)
SQUARE_PAIR_COUNT = 3  # pair blocks of each square
SQUARE_PAIRS = SQUARE_PAIR_COUNT * SQUARES  # of a key frame, at most
# A sticker or an emoji covering a fifth of a frame changes more of its cells than its block
# hash survives, but it spans only a third of a 16:9 frame's width: one of the picture's outer
# thirds (along its longer side) is nearly always clear of it. Both sides take their block
# hashes (as pair blocks: block hashes of windows), the enrolled side on key frames.
OUTER_THIRDS = 2


def frame_query_hashes(blocks: LumaBlocks, pairs: int = QUERY_FRAME_PAIR_COUNT) -> list[HashRecord]:
    """The extra hash records of a video frame a platform checks: the window hash of its
    picture, the block hashes of its outer thirds and of windows of pairs of its keypoints (at
    most `pairs`)."""
    picture, _ = _frame_picture(blocks)
    windows = [window_hash(picture, WHOLE).record("pdq-window")] + _third_records(picture)
    return _distinct(chain(windows, _pair_records(picture, QUERY_FRAME_PAIRS)), len(windows) + pairs)


def frame_enrol_hashes(blocks: LumaBlocks, key: bool, pairs: int = ENROL_FRAME_PAIR_COUNT) -> list[HashRecord]:
    """The extra hash records of a video frame a person enrols: the window hash of its picture
    and, for a key frame (hashing.video), the window hashes of its centred crops to
    FRAME_ASPECTS, the block hashes of its outer thirds, of windows of pairs of its keypoints
    (at most `pairs`) and of pairs of its squares' keypoints (_squares)."""
    picture, box = _frame_picture(blocks)
    out = [window_hash(picture, WHOLE).record("pdq-window")]
    if key:
        crops, squares = _aspect_crops(box), _squares(box)
        grids = {b: Grid(blocks, b) for b in {*crops, *squares}}  # the centred 1:1 crop is the middle square
        out += [window_hash(grids[crop], WHOLE).record("pdq-window") for crop in crops]
        out += _third_records(picture)
        out = _distinct(chain(out, _pair_records(picture, ENROL_FRAME_PAIRS)), len(out) + pairs)
        for square in squares:
            out += _distinct(_pair_records(grids[square], SQUARE_KEYPOINTS), SQUARE_PAIR_COUNT)
        out = _distinct(out)
    return out


def _third_records(picture):
    """The pair block records of a picture's outer thirds (OUTER_THIRDS) along its longer side."""
    if picture.width >= picture.height:
        thirds = [(0.0, 0.0, 1 / 3, 1.0), (2 / 3, 0.0, 1.0, 1.0)]
    else:
        thirds = [(0.0, 0.0, 1.0, 1 / 3), (0.0, 2 / 3, 1.0, 1.0)]
    return [pair_block_hash(picture, w).record("pdq-pair-blocks") for w in thirds]


def _squares(box):
    """SQUARES squares of a box (pixels) as high as it (as wide, for a tall box), from its first
    to its last evenly, if it is far from square."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    side = min(w, h)
    if side >= FRAME_ASPECT_KEEPS * max(w, h):
        return []
    starts = [(max(w, h) - side) * k // (SQUARES - 1) for k in range(SQUARES)]  # the middle one: as _aspect_crops
    if w > h:
        return [(x0 + s, y0, x0 + s + side, y1) for s in starts]
    return [(x0, y0 + s, x1, y0 + s + side) for s in starts]


def _frame_picture(blocks):
    """The grid of a frame's picture, and its box in pixels: the content box (hashing.borders),
    and the content box inside that (a caption bar over a letterboxed video leaves the
    letterbox bars inside the first), each sampled afresh at the full grid resolution."""
    grid, box = Grid(blocks), (0, 0, blocks.width, blocks.height)
    for _ in range(2):
        inner = content_box(grid)
        if inner == WHOLE:
            break
        w, h = box[2] - box[0], box[3] - box[1]
        box = (box[0] + round(inner[0] * w), box[1] + round(inner[1] * h),
               box[0] + round(inner[2] * w), box[1] + round(inner[3] * h))
        grid = Grid(blocks, box)
    return grid, box


def _aspect_crops(box):
    """The centred crops of a box (pixels) to each of FRAME_ASPECTS that cut more than a little."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    out = []
    for aw, ah in FRAME_ASPECTS:
        if w * ah > h * aw:  # wider than the aspect: cut the sides
            keep = h * aw // ah
            if keep < FRAME_ASPECT_KEEPS * w:
                left = x0 + (w - keep) // 2
                out.append((left, y0, left + keep, y1))
        else:
            keep = w * ah // aw
            if keep < FRAME_ASPECT_KEEPS * h:
                top = y0 + (h - keep) // 2
                out.append((x0, top, x1, top + keep))
    return out
