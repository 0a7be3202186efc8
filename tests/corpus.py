"""The shared test corpus (../shared/corpus), read in place, never copied into the repository."""
import csv
import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = pathlib.Path(os.environ.get("TAKEBACK_CORPUS", ROOT.parent / "shared" / "corpus"))


def reference_pdq():
    """Rows of expected-pdq.tsv: path, width, height, pdq (hex), quality, from Meta's C++ PDQ."""
    with open(CORPUS / "expected-pdq.tsv", newline="") as f:
        return [
            {**row, "width": int(row["width"]), "height": int(row["height"]), "quality": int(row["quality"])}
            for row in csv.DictReader(f, delimiter="\t")
        ]


def reference_pixels(relpath, mode="RGB"):
    """Pixels exactly as the reference hashes were made: Pillow convert("RGB"), no EXIF transpose."""
    from PIL import Image

    from hashing import Pixels

    with Image.open(CORPUS / relpath) as im:
        rgb = im.convert("RGB")
        if mode != "RGB":
            rgb = rgb.convert(mode)
        return Pixels(rgb.width, rgb.height, rgb.tobytes(), mode)
