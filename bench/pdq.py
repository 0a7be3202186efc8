"""`make bench`: seconds per PDQ hash in CPython, in Pyodide under Node and in Meta's C++ reference.

Prints figures; it asserts nothing. Each figure is the fastest of several runs after one
warm-up run (on a shared machine the fastest run is the one least disturbed by other work);
Pyodide's first (cold) run is shown too, since a phone hashes its first photo cold.
"""
import platform
import time

from PIL import Image

from hashing import Pixels, pdq_hash
from tests.corpus import CORPUS
from tests.pyodide_node import run_in_pyodide

RUNS = 7


def photos():
    """A real 12-megapixel photo, and the same photo at 1080p and 512x512 (RGBA, as the browser hands it)."""
    with Image.open(CORPUS / "pdq-reference" / "exif-rotn" / "exif-rotn-1.jpg") as im:
        big = im.convert("RGBA")
    sized = [("12 MP (%dx%d)" % big.size, big)]
    sized.append(("1080p (1920x1080)", big.resize((1920, 1080), Image.Resampling.LANCZOS)))
    sized.append(("512x512", big.resize((512, 512), Image.Resampling.LANCZOS)))
    return [(name, Pixels(im.width, im.height, im.tobytes(), "RGBA"), im) for name, im in sized]


def time_cpython(pixels):
    pdq_hash(pixels)
    runs = []
    for _ in range(RUNS):
        t = time.perf_counter()
        pdq_hash(pixels)
        runs.append(time.perf_counter() - t)
    return min(runs)


def time_reference(image):
    try:
        import numpy
        import pdqhash
    except ImportError:
        return None
    rgb = numpy.asarray(image.convert("RGB"))
    pdqhash.compute(rgb)
    runs = []
    for _ in range(RUNS):
        t = time.perf_counter()
        pdqhash.compute(rgb)
        runs.append(time.perf_counter() - t)
    return min(runs)


def main():
    sized = photos()
    version, results = run_in_pyodide([{"pixels": p} for _, p, _ in sized], repeat=RUNS + 1)
    print("PDQ seconds per photo (fastest of %d runs after a warm-up; %s, %s)" % (
        RUNS, platform.python_implementation() + " " + platform.python_version(), platform.machine()))
    print("| photo | CPython | Pyodide %s (cold) | Pyodide warm | C++ reference | Pyodide / CPython |" % version)
    print("| --- | --- | --- | --- | --- | --- |")
    for (name, pixels, image), theirs in zip(sized, results):
        cpython = time_cpython(pixels)
        cold, warm = theirs["seconds"][0], min(theirs["seconds"][1:])
        reference = time_reference(image)
        ref = "%.3f" % reference if reference is not None else "n/a (pip install pdqhash)"
        print("| %s | %.3f | %.3f | %.3f | %s | %.2fx |" % (name, cpython, cold, warm, ref, warm / cpython))


if __name__ == "__main__":
    from bench import measured_on

    print(measured_on())
    main()
