"""hashing.robust: the content box of a bordered photo, small and 12 MP."""
import pytest
from PIL import Image

from hashing import Pixels
from hashing.pdq import LumaBlocks
from hashing.robust import _Grid
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
