"""hashing.robust: the content box of a bordered photo, small and 12 MP."""
import pytest
from PIL import Image

from hashing import Pixels, enrol_hashes, query_hashes
from hashing.match import BLOCKS_MATCH_DISTANCE
from hashing.pdq import LumaBlocks
from hashing.robust import _Grid, _spread
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
