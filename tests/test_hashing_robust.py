"""hashing.robust: the content box, the block hashes, and the keypoint pairs of each side."""
import math

import pytest
from PIL import Image

from hashing import Pixels, enrol_hashes, query_hashes
from hashing.match import BLOCKS_MATCH_DISTANCE
from hashing.keypoints import SCALE
from hashing.pdq import LumaBlocks
from hashing.robust import QUERY_PAIRS, _Grid, _spread
from tests.corpus import CORPUS


@pytest.mark.parametrize("size", [(1024, 768), (4032, 3024)])
def test_content_box_of_a_bordered_photo(size):
    # 12 MP photos are summed in blocks of every other row: the box's edges must still land
    # within one block of the photo's, as they do for a small one.
    with Image.open(CORPUS / "pdq-reference" / "exif-rotn" / "exif-rotn-1.jpg") as im:
        photo = im.convert("RGB").resize(size)
    w, h = size
    bw, bh = w // 10, h // 10
    canvas = Image.new("RGB", (w + 2 * bw, h + 2 * bh), "white")
    canvas.paste(photo, (bw, bh))
    blocks = LumaBlocks(Pixels(canvas.width, canvas.height, canvas.tobytes(), "RGB"))
    found = _Grid(blocks).content_box()
    truth = (bw / canvas.width, bh / canvas.height, (bw + w) / canvas.width, (bh + h) / canvas.height)
    tolerance = (2 * blocks.kx / canvas.width, 2 * blocks.ky / canvas.height) * 2
    assert all(abs(f - t) <= tol for f, t, tol in zip(found, truth, tolerance)), (found, truth)


def test_enrolled_block_hashes_cover_the_mirror_image():
    # The block hash is taken as the picture is; an enrolled photo also carries its mirror
    # image's, which a mirrored copy's must then be close to (and the first far from).
    im = Image.open(CORPUS / "photos" / "mate__Aqua.jpg").convert("RGB")
    im.thumbnail((1024, 1024))

    def blocks_of(hashes):
        return [r.hash_value() for r in hashes if r.type == "pdq-blocks"]

    as_is, mirrored = blocks_of(enrol_hashes(Pixels(im.width, im.height, im.tobytes(), "RGB")))
    flipped = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    [copy] = blocks_of(query_hashes(Pixels(flipped.width, flipped.height, flipped.tobytes(), "RGB")))
    [same] = blocks_of(query_hashes(Pixels(im.width, im.height, im.tobytes(), "RGB")))
    assert same == as_is and copy - mirrored <= 4
    assert copy - as_is > 2 * BLOCKS_MATCH_DISTANCE


def test_a_query_spreads_its_pairs_over_its_keypoints():
    # Pairs of 4 keypoints, strongest first: spread, each keypoint spans one of the first two
    # windows (an emoji as keypoint 0 spoils one window, not three), then the rest in order.
    pairs = [(i, j, "w%d%d" % (i, j)) for j in range(1, 4) for i in range(j)]
    assert [w for _, _, w in pairs] == ["w01", "w02", "w12", "w03", "w13", "w23"]
    assert [w for _, _, w in _spread(pairs)] == ["w01", "w23", "w02", "w13", "w12", "w03"]
    assert _spread([]) == []


def test_pair_windows_of_each_set_are_taken_in_turn():
    class Sets(_Grid):
        def __init__(self):  # no picture: only the order is tested
            pass

        def pair_windows(self, count, spread=False, scale=SCALE):
            return ["%s%d" % (scale, k) for k in range(count)]

    sets = ((3, "a", False, 2), (2, "b", True, 1))
    assert Sets().pairs_in_turn(sets) == ["a0", "a1", "b0", "a2", "b1"]


def corpus_photo(name, side=640):
    with Image.open(CORPUS / "photos" / name) as f:
        im = f.convert("RGB")
    im.thumbnail((side, side))
    return im


def keypoints_of(im, count, scale):
    return _Grid(LumaBlocks(Pixels(im.width, im.height, im.tobytes(), "RGB"))).keypoints(count, scale)


def test_a_crop_finds_the_photos_keypoints_again_at_the_larger_scale():
    # A crop keeping 84% of each side, off-centre, sees the photo's blobs 19% larger: the
    # query's second set of keypoints (found 64/54 larger) lands on the photo's own far more
    # often than its first (found at its own size). Counted within 0.4% of the longer side.
    larger = QUERY_PAIRS[1][1]
    assert larger == pytest.approx(SCALE / 0.84, rel=0.01)
    found = {SCALE: 0, larger: 0}
    for name in ("opencv__baboon.jpg", "mate__Garden.jpg", "mate__LadyBird.jpg", "opencv__building.jpg"):
        im = corpus_photo(name)
        w, h = im.size
        x0, y0 = round(0.04 * w), round(0.12 * h)
        crop = im.crop((x0, y0, x0 + round(0.84 * w), y0 + round(0.84 * h)))
        own = [(x * w, y * h) for x, y in keypoints_of(im, 12, SCALE)]
        for scale in found:
            for x, y in keypoints_of(crop, 8, scale):
                p = (x0 + x * crop.width, y0 + y * crop.height)
                found[scale] += min(math.dist(p, q) for q in own) < 0.004 * max(w, h)
    assert found[larger] > 2 * found[SCALE]
