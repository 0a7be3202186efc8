"""The same hashing/ files give the same bits in Pyodide (the browser) as in CPython (the server)."""
import random
import shutil

import pytest
from PIL import Image

from hashing import Pixels, FileDigests, FrameHashes, enrol_hashes, pdq_hash, query_hashes, trim_borders
from takeback.decode import video_frames
from tests.corpus import CORPUS, reference_pixels
from tests.pyodide_node import ROOT, run_in_pyodide
from tests.transforms import caption_bars

pytestmark = pytest.mark.slow  # `make check` leaves these out

# Different sizes (tiny to 12 MP), sources (JPEG, PNG, WebP; grey, palette, CMYK, alpha)
# and pixel modes handed to hashing (RGB, RGBA, L).
CASES = [
    ("pdq-reference/exif-rotn/exif-rotn-6.jpg", "RGBA"),  # 4032x3024, 12 MP
    ("photos/opencv__aloeL.jpg", "RGB"),
    ("photos/opencv__graf1.png", "RGBA"),
    ("pdq-reference/bridge-mods/aaa-orig.jpg", "RGB"),
    ("pdq-reference/bridge-mods/square-128x128.jpg", "RGB"),
    ("pdq-reference/misc/L.png", "L"),
    ("pdq-reference/misc/P.png", "RGB"),
    ("pdq-reference/misc/RGBA.png", "RGBA"),
    ("pdq-reference/misc/CMYK.jpg", "RGB"),
    ("photos/lomiri2004__Kleiber_by_Lukas_Baubkus.jpg", "RGB"),  # 6028x3391, 20 MP
    ("pdq-reference/misc/small.jpg", "RGB"),
    ("pdq-reference/bridge-mods/shrink-a-lot.jpg", "L"),
    ("pdq-reference/misc/F.webp", "RGB"),
    ("pdq-reference/misc/wee.jpg", "L"),
    ("pdq-reference/labelme-subset/q0003.jpg", "RGBA"),
]


@pytest.fixture(scope="module")
def both_runtimes(tmp_path_factory):
    if shutil.which("node") is None or not (ROOT / "node_modules" / "pyodide").is_dir():
        pytest.fail("node and node_modules/pyodide are needed (make setup installs them)")
    items = [{"pixels": reference_pixels(path, mode), "file": CORPUS / path} for path, mode in CASES]
    # A meme with caption bars whose big letters the content box must see past (its bottom
    # bar ends on them otherwise).
    with Image.open(CORPUS / "photos" / "opencv__aloeR.jpg") as im:
        meme = caption_bars(im.convert("RGB").resize((640, 554)), random.Random(6), None)
    meme_file = tmp_path_factory.mktemp("pyodide") / "caption-bars.png"
    meme.save(meme_file)
    items.append({"pixels": Pixels(meme.width, meme.height, meme.tobytes(), "RGB"), "file": meme_file})
    # A video frame with pillarbox bars, for trimming.
    video = CORPUS / "tmk-videos" / "chair-orig-22-sd-bar.mp4"
    items.append({"pixels": video_frames(video)[1][3][2], "file": video})
    version, results = run_in_pyodide(items, robust=True)
    return version, items, results


def test_pyodide_is_the_browser_runtime(both_runtimes):
    version, _, _ = both_runtimes
    assert version.startswith("3.14")


def test_identical_bits_in_cpython_and_pyodide(both_runtimes):
    _, items, results = both_runtimes
    sizes = set()
    assert len(results) == len(items) == len(CASES) + 2
    for item, theirs in zip(items, results):
        path = item["file"]
        ours = pdq_hash(item["pixels"])
        sizes.add((item["pixels"].width, item["pixels"].height))
        assert theirs["pdq"] == ours.hash.hex(), path
        assert theirs["quality"] == ours.quality, path
        assert theirs["dihedral"] == {k: v.hex() for k, v in ours.dihedral().items()}, path
        digests = FileDigests()
        digests.update(item["file"].read_bytes())
        assert theirs["digests"] == digests.hexdigests(), path
        trimmed = trim_borders(item["pixels"])
        assert theirs["trimmed"] == [trimmed.width, trimmed.height, pdq_hash(trimmed).hash.hex()], path
        # The robust hashes (windows, content box, rotations/flips) on both sides.
        assert theirs["enrol"] == [h.to_json() for h in enrol_hashes(item["pixels"])], path
        assert theirs["query"] == [h.to_json() for h in query_hashes(item["pixels"])], path
        # The image as a video frame, enrolled (a key frame: PDQ, block hash, windows, pair
        # blocks) and as a query's frame.
        for key, query in (("frame", False), ("query_frame", True)):
            frame = FrameHashes(query=query)
            frame.add(0, item["pixels"])
            assert theirs[key] == [h.to_json() for h in frame.records()], path
    assert len(sizes) >= 8
    assert results[-1]["trimmed"][0] < items[-1]["pixels"].width  # the bars were found
