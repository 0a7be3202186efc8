"""`make bench-robust`: CPython time of the robust hashes on top of PDQ, to enrol and to query.

Prints figures; it asserts nothing. For a real 12 MP photo and the same photo at 1920x1440
and 1024x768 (RGBA, as the browser hands it): PDQ alone (pdq_hash), and the whole record a
person enrols and a platform queries (hashing.image_record, PDQ included), each the fastest
of --runs runs, taken in turn so that a busy moment of a shared machine slows all alike. The
robust hashes' time is the whole record's less PDQ's, shown as a multiple of PDQ's (the
budget is 2x).

--against DIR: also time the hashing/ package of another checkout (say, a `git worktree` of
the commit before a change), interleaved with this one's, as the "before" columns.
"""
import argparse
import importlib.util
import sys
import time
from pathlib import Path

from PIL import Image

import hashing
from tests.corpus import CORPUS

SIZES = [None, (1920, 1440), (1024, 768)]  # None: the photo as it is


def load_hashing(checkout):
    """The hashing/ package of another checkout, under a name of its own."""
    init = Path(checkout) / "hashing" / "__init__.py"
    if not init.is_file():
        sys.exit("bench-robust: %s has no hashing/ package" % checkout)
    spec = importlib.util.spec_from_file_location("hashing_against", init, submodule_search_locations=[str(init.parent)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def photos():
    with Image.open(CORPUS / "pdq-reference" / "exif-rotn" / "exif-rotn-1.jpg") as im:
        big = im.convert("RGBA")
    return [big if size is None else big.resize(size, Image.Resampling.LANCZOS) for size in SIZES]


def fastest(tasks, runs):
    """{name: the fastest of `runs` runs of fn}, the tasks taken in turn in each run."""
    best = {name: float("inf") for name, _ in tasks}
    for _ in range(runs):
        for name, fn in tasks:
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    return best


def tasks_for(package, im, prefix=""):
    pixels = package.Pixels(im.width, im.height, im.tobytes(), "RGBA")
    digests = package.FileDigests().hexdigests()
    package.image_record(pixels, digests)  # warm-up
    return [(prefix + "enrol", lambda: package.image_record(pixels, digests)),
            (prefix + "query", lambda: package.image_record(pixels, digests, query=True))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--against", metavar="DIR", help="another checkout, timed as 'before'")
    args = parser.parse_args(argv)
    other = load_hashing(args.against) if args.against else None
    print("CPython seconds; robust hashes = whole record less PDQ alone, and that as a multiple "
          "of PDQ's time (fastest of %d runs, interleaved%s)" % (args.runs, ", against " + args.against if other else ""))
    header = "| photo | PDQ | robust hashes to enrol | robust hashes to query |"
    print(header + (" before: enrol / query |" if other else ""))
    print("| --- | --- | --- | --- |" + (" --- |" if other else ""))
    for im in photos():
        pixels = hashing.Pixels(im.width, im.height, im.tobytes(), "RGBA")
        tasks = [("pdq", lambda: hashing.pdq_hash(pixels))] + tasks_for(hashing, im)
        if other:
            tasks += tasks_for(other, im, "before ")
        t = fastest(tasks, args.runs)
        pdq = t["pdq"]

        def extra(name):
            return "%.3f s (%.2fx)" % (t[name] - pdq, (t[name] - pdq) / pdq)

        row = "| %dx%d | %.3f s | %s | %s |" % (im.width, im.height, pdq, extra("enrol"), extra("query"))
        if other:
            row += " %s / %s |" % (extra("before enrol"), extra("before query"))
        print(row, flush=True)


if __name__ == "__main__":
    from bench import measured_on

    print(measured_on())
    main()
