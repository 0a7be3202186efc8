"""`make eval-robustness`: how well edited copies of photos still match, and what else matches.

Prints figures; asserts nothing (except that the skipping below is sound). For every corpus
photo (../shared/corpus/photos) it makes the edited copies of tests/transforms.py (crops,
emoji and stickers, captions, rotations, small rotations, re-encoding, resizing, borders and
screenshots, filters, combinations), saves each as a JPEG (quality 90 unless the edit is a
re-encode) and decodes it again as `takeback hash` would, and hashes it as a platform hashes
an upload: hashing.image_record(query=True), digests of the JPEG's bytes. Each photo is
enrolled as a person would enrol it: image_record(query=False) of its pixels, digests of a
lossless PNG of them.

Every photo is first reduced to at most 1024 pixels on its longer side (Lanczos) so the
whole run takes minutes; that reduced photo is "the original" for everything below
(resizing is itself an edit PDQ survives). Random choices (crop positions, emoji, captions)
come from a random.Random seeded by photo and transformation, so every run makes the same
copies. Two processes make and hash the copies; nothing is written to disk but --json.

Figures:
  - recall per transformation and per family: the copy against its own photo's enrolled
    record, by plain PDQ (the "pdq" hashes within 31 bits, neither weak:
    hashing.record_distance) and by the new rule (hashing.image_match);
  - false matches: every copy, and tiles cut from every photo (quarters, ninths, random
    windows of 30-50%), against every OTHER photo's enrolled record;
  - three same-scene pairs that must not match, and an edited photo that should;
  - robust hashes per record, CPython seconds per photo, bytes of an enrolled record.

Skipping pairs: ~340,000 (query, enrolled) pairs would be slow to hand one by one to
image_match. hashing.match.LOOSEST_DISTANCE promises that no two perceptual hashes further
apart than it can be evidence, and weak hashes (quality < 50) never are. So numpy first
computes the Hamming distance between every usable perceptual hash of the queries and of
the enrolled records (of every type, grouped by bit length), and image_match is called
only on pairs of records having a pair of hashes within LOOSEST_DISTANCE or an equal exact
digest. This changes no figure: image_match could not match the pairs skipped. Every
copy's own pair is also handed to image_match unconditionally, and the run stops if one
of them matches although it would have been skipped (LOOSEST_DISTANCE would be wrong).

Options: --limit N (the first N photos, for quick runs), --photos NAME... (only photos whose
file name contains one of these), --processes (default 2), --json FILE (every figure and
every copy's result).
"""
import argparse
import io
import json
import multiprocessing
import statistics
import sys
import time
from typing import NamedTuple

import numpy as np
from PIL import Image

from hashing import (
    WEAK_QUALITY, FileDigests, MediaRecord, Pixels, image_match, image_record, pdq_hash, record_distance,
)
from hashing.match import LOOSEST_DISTANCE, RULES
from takeback.decode import image_pixels
from tests.corpus import CORPUS
from tests.transforms import DEFAULT_QUALITY, EMOJI_FONT, FAMILIES, TRANSFORMS, tiles

MAX_SIDE = 1024
PDQ_DISTANCE = 31  # the plain PDQ baseline: Meta's recommended threshold
TIMING_RUNS = 3
# Different photos of the same scene (a stereo pair, viewpoint change, lighting change): must not match.
SAME_SCENE = [("opencv__aloeL", "opencv__aloeR"), ("opencv__graf1", "opencv__graf3"),
              ("opencv__leuvenA", "opencv__leuvenB")]
# One photo and an edited copy of it (an object pasted in): should match, and their copies
# matching each other is no false match.
SAME_PHOTO = [("opencv__ela_original", "opencv__ela_modified")]


# --- making and hashing the copies (in worker processes) ----------------------------------

def to_pixels(im):
    """hashing.Pixels of an in-memory Pillow image, flattened as takeback.decode flattens a file's
    pixels: transparency composited onto white, then RGBA."""
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        white.alpha_composite(im.convert("RGBA"))
        im = white
    rgba = im.convert("RGBA")
    return Pixels(rgba.width, rgba.height, rgba.tobytes(), "RGBA")


def load_original(path):
    """The corpus photo decoded as `takeback hash` decodes it, reduced to at most MAX_SIDE pixels."""
    pixels = image_pixels(path)
    im = Image.frombytes("RGBA", (pixels.width, pixels.height), bytes(pixels.data)).convert("RGB")
    f = MAX_SIDE / max(im.size)
    if f < 1:
        im = im.resize((max(1, round(im.width * f)), max(1, round(im.height * f))), Image.LANCZOS)
    return im


def digests_of(data):
    digests = FileDigests()
    digests.update(data)
    return digests.hexdigests()


def original_records(im):
    """(enrolled, query) records of the original itself; its digests are those of a lossless PNG."""
    buf = io.BytesIO()
    im.save(buf, "PNG")
    pixels, digests = to_pixels(im), digests_of(buf.getvalue())
    return image_record(pixels, digests), image_record(pixels, digests, query=True)


def repost_record(im, quality):
    """The query record of a copy saved as JPEG and decoded again, as a platform receives a repost."""
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    data = buf.getvalue()
    return image_record(image_pixels(io.BytesIO(data)), digests_of(data), query=True)


def hash_photo(task):
    """Everything one photo contributes, as JSON (MediaRecord cannot be pickled)."""
    path, donor_path = task
    original, donor = load_original(path), load_original(donor_path)
    name = path.stem
    enrolled, query = original_records(original)
    copies = [repost_record(t.apply(original, "%s/%s" % (name, t.name), donor), t.quality).to_json()
              for t in TRANSFORMS]
    tile_records = [(label, repost_record(tile, DEFAULT_QUALITY).to_json())
                    for label, tile in tiles(original, name + "/tiles")]
    return {"name": name, "size": original.size, "enrolled": enrolled.to_json(), "original": query.to_json(),
            "copies": copies, "tiles": tile_records}


# --- matching ----------------------------------------------------------------------------

class Query(NamedTuple):
    source: int  # index of the photo it was made from
    kind: str  # "copy" or "tile"
    label: str  # the transformation's or tile's name
    family: str
    record: MediaRecord


def first_pdq(record):
    """The record's PDQ of the whole photo (image_record puts it first), or None."""
    return next((h for h in record.hashes if h.type == "pdq"), None)


def robust_count(record):
    """Perceptual hashes besides the plain PDQ of the whole photo."""
    return sum(h.perceptual for h in record.hashes) - (first_pdq(record) is not None)


def words(hex_value):
    """A hash as uint64 words (zero-padded to a whole word), for numpy's popcount."""
    data = bytes.fromhex(hex_value)
    return np.frombuffer(data + bytes(-len(data) % 8), dtype=np.uint64)


def perceptual_table(records):
    """{bits: (words n x k, owner n)}: every usable (not weak) perceptual hash of the records."""
    groups = {}
    for owner, record in enumerate(records):
        for h in record.hashes:
            if h.perceptual and not h.weak:
                rows, owners = groups.setdefault(h.signal.bits, ([], []))
                rows.append(words(h.value))
                owners.append(owner)
    return {bits: (np.array(rows), np.array(owners)) for bits, (rows, owners) in groups.items()}


def candidate_pairs(queries, enrolled, max_distance=LOOSEST_DISTANCE, chunk=256):
    """{(query index, enrolled index)}: the pairs of records that have a pair of usable
    perceptual hashes of the same length within max_distance, or an equal exact digest.
    No other pair can match (see the module docstring)."""
    q_table, e_table = perceptual_table(queries), perceptual_table(enrolled)
    pairs = set()
    for bits in q_table.keys() & e_table.keys():
        q_words, q_owner = q_table[bits]
        e_words, e_owner = e_table[bits]
        for start in range(0, len(q_words), chunk):
            block = q_words[start:start + chunk]
            distance = np.bitwise_count(block[:, None, :] ^ e_words[None, :, :]).sum(axis=2, dtype=np.uint32)
            qi, ei = np.nonzero(distance <= max_distance)
            pairs.update(zip(q_owner[start + qi].tolist(), e_owner[ei].tolist()))
    exact = {}
    for j, record in enumerate(enrolled):
        for h in record.hashes:
            if not h.perceptual:
                exact.setdefault((h.type, h.value), set()).add(j)
    for i, record in enumerate(queries):
        for h in record.hashes:
            pairs.update((i, j) for j in exact.get((h.type, h.value), ()))
    return pairs


def pdq_distances(queries, enrolled):
    """Hamming distances between the plain PDQ hashes (queries x enrolled; 256 where one has none)."""
    def matrix(records):
        return np.array([words(h.value) if h else np.zeros(4, np.uint64) for h in map(first_pdq, records)])
    distance = np.bitwise_count(matrix(queries)[:, None, :] ^ matrix(enrolled)[None, :, :]).sum(axis=2)
    missing_q = np.array([first_pdq(r) is None for r in queries])
    missing_e = np.array([first_pdq(r) is None for r in enrolled])
    distance[missing_q, :] = 256
    distance[:, missing_e] = 256
    return distance


def pdq_match(enrolled, query):
    """The plain PDQ baseline: distance if the whole-photo PDQ hashes match (hashing's rule), else None."""
    e, q = first_pdq(enrolled), first_pdq(query)
    return None if e is None or q is None else record_distance(e, q, PDQ_DISTANCE)


def closest_by_rule(queries, enrolled, own, names, show=5):
    """The calibration margin: per row of hashing.match.RULES, the closest pairs of hashes
    between a query and a different photo's enrolled record (usable hashes only)."""
    print()
    print("Closest different-photo hashes per rule (the threshold must stay below these)")
    for (e_type, q_type), limit in RULES.items():
        def table_of(records, type_):
            rows, owners = [], []
            for k, r in enumerate(records):
                for h in r.hashes:
                    if h.type == type_ and not h.weak:
                        rows.append(words(h.value))
                        owners.append(k)
            return np.array(rows).reshape(-1, 4), np.array(owners, dtype=np.int64)
        q_words, q_owner = table_of([q.record for q in queries], q_type)
        e_words, e_owner = table_of(enrolled, e_type)
        best = {}  # (query, enrolled photo) -> distance
        for start in range(0, len(q_words), 512):
            block = q_words[start:start + 512]
            d = np.bitwise_count(block[:, None, :] ^ e_words[None, :, :]).sum(axis=2, dtype=np.uint32)
            for qi, ei in zip(*np.nonzero(d <= 80)):
                i, j = int(q_owner[start + qi]), int(e_owner[ei])
                if j in own(queries[i]):
                    continue
                v = int(d[qi, ei])
                if v < best.get((i, j), 257):
                    best[(i, j)] = v
        ranked = sorted((v, i, j) for (i, j), v in best.items())[:show]
        print("  %s -> %s (threshold %d): %s" % (q_type, e_type, limit, "; ".join(
            "%d bits (%s -> %s)" % (v, describe(queries[i], names), names[j]) for v, i, j in ranked) or "none within 80 bits"))


# --- the run -----------------------------------------------------------------------------

def hash_all(photos, processes):
    tasks = [(path, photos[(k + 1) % len(photos)]) for k, path in enumerate(photos)]  # donor: the next photo
    t0 = time.perf_counter()
    results = []
    with multiprocessing.Pool(processes) as pool:
        for result in pool.imap(hash_photo, tasks):
            results.append(result)
            print("  hashed %d/%d photos (%.0f s)" % (len(results), len(tasks), time.perf_counter() - t0),
                  file=sys.stderr, flush=True)
    return results


def best_time(fn, runs=TIMING_RUNS):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def timings(photos):
    """Mean over photos of the fastest of TIMING_RUNS runs: pdq_hash, image_record enrol, query."""
    out = {"pdq_hash": [], "enrol": [], "query": []}
    digests = digests_of(b"")
    pdq_hash(to_pixels(load_original(photos[0])))  # warm-up
    for path in photos:
        pixels = to_pixels(load_original(path))
        out["pdq_hash"].append(best_time(lambda: pdq_hash(pixels)))
        out["enrol"].append(best_time(lambda: image_record(pixels, digests)))
        out["query"].append(best_time(lambda: image_record(pixels, digests, query=True)))
    return {k: statistics.mean(v) for k, v in out.items()}


def table(headers, rows):
    """A Markdown table with padded columns (readable as printed, pastes into docs/BENCHMARKS.md)."""
    rows = [[str(c) for c in row] for row in rows]
    widths = [max(len(r[k]) for r in [headers] + rows) for k in range(len(headers))]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    print(line(headers))
    print("| " + " | ".join("-" * w for w in widths) + " |")
    for row in rows:
        print(line(row))


def share(hits, n):
    return "%d/%d (%.1f%%)" % (hits, n, 100 * hits / n) if n else "-"


def describe(query, names):
    return "%s / %s" % (names[query.source], query.label)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="only the first N photos (quick runs)")
    parser.add_argument("--photos", nargs="+", metavar="NAME", help="only photos whose file name contains one of these")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--json", metavar="FILE", help="write every figure and every copy's result here")
    args = parser.parse_args(argv)
    if not EMOJI_FONT.exists():
        sys.exit("eval-robustness: %s is missing (apt-get install fonts-noto-color-emoji)" % EMOJI_FONT)
    started = time.perf_counter()
    photos = sorted(p for p in (CORPUS / "photos").iterdir() if p.is_file())
    if args.photos:
        photos = [p for p in photos if any(name in p.name for name in args.photos)]
    photos = photos[:args.limit]

    print("Robustness of matching: %d corpus photos, each reduced to at most %d px on its longer side "
          "(Lanczos) first; %d transformations; copies saved as JPEG (quality %d unless stated) and "
          "decoded again. Plain PDQ: the pdq hashes within %d bits. New rule: hashing.image_match."
          % (len(photos), MAX_SIDE, len(TRANSFORMS), DEFAULT_QUALITY, PDQ_DISTANCE))
    results = hash_all(photos, args.processes)
    hashed = time.perf_counter() - started
    names = [r["name"] for r in results]
    index = {name: k for k, name in enumerate(names)}
    enrolled = [MediaRecord.from_json(r["enrolled"]) for r in results]
    originals = [MediaRecord.from_json(r["original"]) for r in results]
    queries = []
    for k, r in enumerate(results):
        queries += [Query(k, "copy", t.name, t.family, MediaRecord.from_json(rec))
                    for t, rec in zip(TRANSFORMS, r["copies"])]
        queries += [Query(k, "tile", label, "tiles", MediaRecord.from_json(rec)) for label, rec in r["tiles"]]
    records = [q.record for q in queries]
    distance = pdq_distances(records, enrolled)
    candidates = candidate_pairs(records, enrolled)

    # Recall: each copy against its own photo.
    copies = []
    for i, q in enumerate(queries):
        if q.kind != "copy":
            continue
        evidence = image_match(enrolled[q.source], q.record)
        if evidence is not None and (i, q.source) not in candidates:
            sys.exit("eval-robustness: %s matched with evidence %s although no pair of its hashes is within "
                     "LOOSEST_DISTANCE=%d: hashing.match.LOOSEST_DISTANCE is too small"
                     % (describe(q, names), json.dumps(evidence), LOOSEST_DISTANCE))
        copies.append({"photo": names[q.source], "transform": q.label, "family": q.family,
                       "pdq_distance": int(distance[i, q.source]),
                       "pdq_match": pdq_match(enrolled[q.source], q.record) is not None, "evidence": evidence})

    print()
    print("Recall: each copy against its own photo's enrolled record")
    rows, family_rows, summary = [], [], {}
    for family in FAMILIES:
        in_family = [c for c in copies if c["family"] == family]
        for t in (t for t in TRANSFORMS if t.family == family):
            mine = [c for c in in_family if c["transform"] == t.name]
            pdq_hits = sum(c["pdq_match"] for c in mine)
            rule_hits = sum(c["evidence"] is not None for c in mine)
            median = statistics.median(c["pdq_distance"] for c in mine)
            rows.append([family, t.name, len(mine), share(pdq_hits, len(mine)), share(rule_hits, len(mine)),
                         "%g" % median])
            summary[t.name] = {"family": family, "copies": len(mine), "pdq": pdq_hits, "rule": rule_hits,
                               "median_pdq_distance": median}
        pdq_hits = sum(c["pdq_match"] for c in in_family)
        rule_hits = sum(c["evidence"] is not None for c in in_family)
        family_rows.append([family, len(in_family), share(pdq_hits, len(in_family)), share(rule_hits, len(in_family))])
    table(["family", "transformation", "copies", "plain PDQ <= 31", "new rule", "median PDQ distance"], rows)
    print()
    print("Recall per family")
    table(["family", "copies", "plain PDQ <= 31", "new rule"], family_rows)
    weak = [names[k] for k, r in enumerate(enrolled) if first_pdq(r) is None or first_pdq(r).weak]
    print("Photos whose PDQ is weak (quality < %d: featureless, never matched by PDQ alone): %s"
          % (WEAK_QUALITY, ", ".join(weak) or "none"))

    # False matches: every copy and tile against every other photo.
    partners = {k: {k} for k in range(len(names))}
    for a, b in SAME_PHOTO:
        if a in index and b in index:
            partners[index[a]].add(index[b])
            partners[index[b]].add(index[a])
    def own(q):
        """The photos a query may rightly match: its source (and its source's edit), and for a
        photo patch also the photo the patch was cut from (the copy holds a piece of it)."""
        if q.kind == "copy" and q.label.startswith("photo patch"):
            return partners[q.source] | {(q.source + 1) % len(names)}  # hash_all's donor: the next photo
        return partners[q.source]

    pairs = sum(len(names) - len(own(q)) for q in queries)
    false_pdq, false_rule = [], []
    for i, j in zip(*np.nonzero(distance <= PDQ_DISTANCE)):
        q = queries[i]
        if j not in own(q) and pdq_match(enrolled[j], q.record) is not None:
            false_pdq.append({"query": describe(q, names), "enrolled": names[j], "distance": int(distance[i, j])})
    called = 0
    for i, j in sorted(candidates):
        q = queries[i]
        if j in own(q):
            continue
        called += 1
        evidence = image_match(enrolled[j], q.record)
        if evidence is not None:
            false_rule.append({"query": describe(q, names), "enrolled": names[j], "evidence": evidence})
    n_copies = sum(q.kind == "copy" for q in queries)
    print()
    print("False matches: %d copies and %d tiles (quarters, ninths, 3 random windows of 30-50%% of each photo), "
          "each against every OTHER photo's enrolled record (%s counted as one photo; a photo patch copy "
          "is not paired with the photo its patch came from)"
          % (n_copies, len(queries) - n_copies, ", ".join("/".join(p) for p in SAME_PHOTO)))
    few = pairs < 100_000 and not (args.limit or args.photos)
    print("  pairs: {:,}{}".format(pairs, "  (fewer than 100,000!)" if few else ""))
    print("  image_match called on {:,} of them (the others have no pair of hashes within LOOSEST_DISTANCE={})"
          .format(called, LOOSEST_DISTANCE))
    print("  false matches, plain PDQ <= 31: %d" % len(false_pdq))
    for m in false_pdq:
        print("    %s -> %s: distance %d" % (m["query"], m["enrolled"], m["distance"]))
    print("  false matches, new rule: %d" % len(false_rule))
    for m in false_rule:
        print("    %s -> %s: %s" % (m["query"], m["enrolled"], json.dumps(m["evidence"])))

    closest_by_rule(queries, enrolled, own, names)

    # Same scene, different photos (must not match); one photo and its edit (should).
    print()
    print("Related photos (each photo's own record as the query, both directions)")
    related, rows = [], []
    for pair_list, expected in ((SAME_SCENE, "no match"), (SAME_PHOTO, "match")):
        for a, b in pair_list:
            for e, q in ((a, b), (b, a)):
                if e not in index or q not in index:
                    continue
                enrolled_record, query_record = enrolled[index[e]], originals[index[q]]
                d = pdq_distances([query_record], [enrolled_record])[0, 0]
                pdq = pdq_match(enrolled_record, query_record) is not None
                evidence = image_match(enrolled_record, query_record)
                related.append({"enrolled": e, "query": q, "expected": expected, "pdq_distance": int(d),
                                "pdq_match": pdq, "evidence": evidence})
                if (evidence is not None) == (expected == "match"):
                    verdict = "as expected"
                else:
                    verdict = "** missed **" if evidence is None else "** FALSE MATCH **"
                rows.append(["%s <- %s" % (e, q), int(d), "match" if pdq else "no match",
                             json.dumps(evidence) if evidence else "no match", expected, verdict])
    table(["enrolled <- query", "PDQ distance", "plain PDQ <= 31", "new rule", "expected", "new rule is"], rows)

    # Costs.
    robust_enrolled = [robust_count(r) for r in enrolled]
    robust_query = [robust_count(r) for r in records + originals]
    sizes = [len(json.dumps(r.to_json(), separators=(",", ":")).encode()) for r in enrolled]
    print()
    print("Robust hashes per record: enrolled mean %.1f, max %d; query mean %.1f, max %d"
          % (statistics.mean(robust_enrolled), max(robust_enrolled), statistics.mean(robust_query), max(robust_query)))
    print("Enrolled record as compact JSON: mean %.0f bytes, max %d bytes" % (statistics.mean(sizes), max(sizes)))
    seconds = timings(photos)
    pdq = seconds["pdq_hash"]
    extra = {what: (seconds[what] - pdq) / pdq for what in ("enrol", "query")}  # the robust hashes' own time
    print("CPython seconds per photo (<= %d px, mean over photos of the fastest of %d runs): pdq_hash %.3f; "
          "image_record enrol %.3f (robust hashes %.1fx PDQ); query %.3f (robust hashes %.1fx PDQ)"
          % (MAX_SIDE, TIMING_RUNS, pdq, seconds["enrol"], extra["enrol"], seconds["query"], extra["query"]))
    for what, x in extra.items():
        if x > 2:
            print("  ** the robust hashes of image_record(%s) take %.1fx the time of pdq_hash alone: more than 2x **"
                  % ("query=False" if what == "enrol" else "query=True", x))
    total = time.perf_counter() - started
    print("Run time: %.0f s (hashing the copies, %d processes: %.0f s)" % (total, args.processes, hashed))

    if args.json:
        with open(args.json, "w") as f:
            json.dump({
                "photos": len(names), "max_side": MAX_SIDE, "pdq_distance": PDQ_DISTANCE,
                "loosest_distance": LOOSEST_DISTANCE, "transforms": summary,
                "false_matches": {"pairs": pairs, "image_match_calls": called, "pdq": false_pdq, "rule": false_rule},
                "related": related,
                "robust_hashes": {"enrolled": robust_enrolled, "query_mean": statistics.mean(robust_query),
                                  "query_max": max(robust_query)},
                "enrolled_json_bytes": sizes, "seconds": seconds, "run_seconds": total, "copies": copies,
            }, f, indent=1)


if __name__ == "__main__":
    from bench import measured_on

    print(measured_on())
    main()
