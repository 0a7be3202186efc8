"""Golden hash records: a byte-identity check of everything hashing/ computes for the corpus.

For each photo under the corpus's photos/ and pdq-reference/ (decoded as `takeback hash`
decodes it: takeback.decode.image_pixels), its enrolment record and its query record
(hashing.image_record, query=False and query=True); the same for a few SYNTHETIC pictures
made of corpus photos (bordered, with caption bars, as a phone screenshot: the content box's
cases, which few corpus photos have); and with --videos the record of each corpus video
(takeback.media.file_record: one PDQ and one block hash per sampled frame).
Each line is `name<TAB>kind<TAB>sha256`, the SHA-256 of the record's JSON (sorted keys,
compact), so that a refactoring of hashing/ can show that not one output bit changed:

    python -m tests.golden_records --write /tmp/golden-before.txt [--json /tmp/before.json]
    python -m tests.golden_records --check /tmp/golden-before.txt [--json /tmp/after.json]

--names FILE hashes only the photos a golden file names (tests/golden_records.txt, the
permanent test's subset: `--names tests/golden_records.txt --write tests/golden_records.txt`
regenerates it). The corpus is read in place (tests.corpus.CORPUS), never copied.
"""
import argparse
import hashlib
import json
import sys

from tests.corpus import CORPUS

PHOTO_FOLDERS = ("photos", "pdq-reference")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".gif", ".bmp", ".tif", ".tiff")


HEADER = "# name<TAB>kind<TAB>SHA-256 of the record's JSON, written by `python -m tests.golden_records`\n"

# name -> (how it is made, the corpus photo it is made of): see synthetic_pixels.
SYNTHETIC = {
    "synthetic/bordered/tuxpaint__cliff.jpg": ("bordered", "photos/tuxpaint__cliff.jpg"),
    "synthetic/caption-bars/opencv__aloeR.jpg": ("caption-bars", "photos/opencv__aloeR.jpg"),
    "synthetic/screenshot/tuxpaint__jellyfish.jpg": ("screenshot", "photos/tuxpaint__jellyfish.jpg"),
}


def synthetic_pixels(kind, source):
    """A corpus photo's pixels, unscaled, on a canvas: "bordered" (white, a tenth of each side
    around it), "caption-bars" (white bars above and below with black blocks for big letters)
    or "screenshot" (a portrait phone screen: dark padding, a status bar's grey marks). Only
    pastes and rectangles, no resampling or fonts, so the pixels do not depend on Pillow's
    version beyond its JPEG decoder."""
    from PIL import Image, ImageDraw

    from hashing import Pixels
    from takeback.decode import image_pixels

    photo = image_pixels(CORPUS / source)
    im = Image.frombytes(photo.mode, (photo.width, photo.height), bytes(photo.data)).convert("RGB")
    w, h = im.size
    if kind == "bordered":
        canvas = Image.new("RGB", (w + 2 * (w // 10), h + 2 * (h // 10)), "white")
        canvas.paste(im, (w // 10, h // 10))
    elif kind == "caption-bars":
        bar = h // 6
        canvas = Image.new("RGB", (w, h + 2 * bar), "white")
        canvas.paste(im, (0, bar))
        draw = ImageDraw.Draw(canvas)
        for top in (0, bar + h):
            for k in range(8):
                x = round(w * (0.08 + 0.11 * k))
                draw.rectangle((x, top + bar // 4, x + w // 16, top + 3 * bar // 4), fill="black")
    else:
        canvas = Image.new("RGB", (w, 2 * w), (18, 18, 18))
        canvas.paste(im, (0, (2 * w - h) // 2))
        draw = ImageDraw.Draw(canvas)
        for x in (w // 40, w // 10, w - w // 6, w - w // 10):
            draw.rectangle((x, w // 80, x + w // 30, w // 30), fill=(200, 200, 200))
    return Pixels(canvas.width, canvas.height, canvas.tobytes(), "RGB")


def photo_names(subset=None):
    """The corpus photos as paths relative to CORPUS, sorted by folder, then the SYNTHETIC
    ones (only those in `subset` if given)."""
    names = []
    for folder in PHOTO_FOLDERS:
        for path in sorted((CORPUS / folder).rglob("*")):
            if path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES:
                names.append(path.relative_to(CORPUS).as_posix())
    names += SYNTHETIC
    return names if subset is None else [name for name in names if name in subset]


def video_names():
    return sorted(p.relative_to(CORPUS).as_posix() for p in (CORPUS / "videos").iterdir() if p.is_file())


def digest(record):
    """The SHA-256 of a MediaRecord's JSON (sorted keys, compact)."""
    text = json.dumps(record.to_json(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def photo_records(name):
    """(enrol record, query record) of one corpus photo (or SYNTHETIC picture), as `takeback
    hash` makes them."""
    import hashing
    from takeback.decode import image_pixels, read_chunks

    digests = hashing.FileDigests()
    if name in SYNTHETIC:  # no file: the digests of its pixels
        pixels = synthetic_pixels(*SYNTHETIC[name])
        digests.update(bytes(pixels.data))
    else:
        for chunk in read_chunks(CORPUS / name):
            digests.update(chunk)
        pixels = image_pixels(CORPUS / name)
    hexdigests = digests.hexdigests()
    return hashing.image_record(pixels, hexdigests, query=False), hashing.image_record(pixels, hexdigests, query=True)


def records(subset=None, videos=False):
    """Yield (name, kind, MediaRecord) for every photo (kinds "enrol" and "query") and video."""
    for name in photo_names(subset):
        enrol, query = photo_records(name)
        yield name, "enrol", enrol
        yield name, "query", query
    if videos:
        from takeback.media import file_record

        for name in video_names():
            yield name, "video", file_record(CORPUS / name)


def read_golden(path):
    """{(name, kind): sha256} from a golden file."""
    out = {}
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, kind, sha = line.rstrip("\n").split("\t")
                out[(name, kind)] = sha
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", metavar="FILE", help="write the golden digests to FILE")
    action.add_argument("--check", metavar="FILE", help="compare with the golden digests in FILE")
    parser.add_argument("--json", metavar="FILE", help="also write every record's full JSON here (for diffing)")
    parser.add_argument("--videos", action="store_true", help="also hash the corpus videos")
    parser.add_argument("--names", metavar="FILE", help="only the photos this golden file names")
    args = parser.parse_args(argv)
    subset = {name for name, kind in read_golden(args.names) if kind != "video"} if args.names else None
    golden = read_golden(args.check) if args.check else None
    lines, full, differ, seen = [], {}, [], set()
    for name, kind, record in records(subset, args.videos):
        sha = digest(record)
        lines.append("%s\t%s\t%s\n" % (name, kind, sha))
        full["%s\t%s" % (name, kind)] = record.to_json()
        seen.add((name, kind))
        if golden is not None and golden.get((name, kind)) != sha:
            differ.append((name, kind))
            print("DIFFERS %s %s" % (name, kind), file=sys.stderr, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(full, f, indent=1, sort_keys=True)
    if args.write:
        with open(args.write, "w") as f:
            f.write(HEADER)
            f.writelines(lines)
        print("wrote %d records of %d files to %s" % (len(lines), len({n for n, _ in seen}), args.write))
        return 0
    missing = sorted(set(golden) - seen)
    for name, kind in missing:
        print("MISSING %s %s" % (name, kind), file=sys.stderr)
    print("%d records of %d files: %d identical, %d differ, %d missing"
          % (len(lines), len({n for n, _ in seen}), len(lines) - len(differ), len(differ), len(missing)))
    return 1 if differ or missing else 0


if __name__ == "__main__":
    sys.exit(main())
