"""`make eval-video-robustness`: how well edited copies of videos still match, and what else matches.

Prints figures; asserts nothing (except that the skipping below is sound). For every corpus
video (../shared/corpus/tmk-videos/*.mp4 and ../shared/corpus/videos/*) it makes the edited
copies of tests/video_transforms.py (crops, crops to 9:16 and 1:1, mirror, captions, emoji
and stickers, a logo, letterbox and pillarbox, screen recordings, speed, a trimmed middle,
a low bitrate, greyscale, combinations) from the clip's first --seconds (default 10), with
PyAV, as H.264 MP4 files in a temporary directory, each deleted once hashed. Each copy is
hashed as a platform hashes an upload (takeback.media.query_record); each original is
enrolled as the person's browser would (file_record(original, query=False), the whole file).
Random choices (crop positions, emoji, captions) come from a random.Random seeded by video
and edit, the same for every frame and every run.

Same scene: some corpus clips are edited copies of one another. Clips whose names start
with the same SCENES prefix are one original: their copies matching each other is no false
match, and never counted as one.

Figures:
  - recall per edit and per family: each copy against its own original's enrolled record, by
    vPDQ with PDQ alone (computed here from the "pdq" records: at least VPDQ_MIN_FRAMES
    distinct query frames within 31 bits of an enrolled frame, and at least VPDQ_MIN_SHARE of
    either video's frames; weak frames, quality < 50, take no part) and by the checkout's rule
    (hashing.video_match on the full records, whatever this checkout's hashing/ computes);
  - false matches: every original against every other scene's enrolled record, every copy
    against every other scene's original, and videos against the corpus photos both ways
    (each video's hash records as one photo record, through hashing.image_match: any pair of
    records the rule lets match is a false match);
  - chance matches per hash comparison: for each row of hashing.match.RULES, how many pairs
    of hashes of different scenes were compared, how many fell within the row's distance and
    the closest; how many hashes a pair of videos compares;
  - hashes per enrolled and per query video, bytes of an enrolled record as JSON, CPython
    seconds to hash a minute of video (enrol and query, decoding apart).

Skipping pairs: as bench/robustness.py, numpy first finds the pairs of records with a pair
of usable perceptual hashes within hashing.match.LOOSEST_DISTANCE (or an equal digest) and
the rule is called on those only; every copy's own pair is called unconditionally and the
run stops if one matches although it would have been skipped.

Old rule and new: run this in each checkout with --json FILE, then
`python -m bench.video_robustness --compare OLD.json NEW.json` prints both side by side
(the copies are the same in both: same seeds, same PyAV).

Options: --seconds (cap per clip, default 20), --videos NAME... (only clips whose file name
contains one of these), --edits NAME... (only edits whose name contains one of these),
--no-photos, --processes (default 2), --json FILE, --compare OLD.json NEW.json.
"""
import argparse
import json
import multiprocessing
import pathlib
import statistics
import sys
import tempfile
import time
from collections import Counter
from typing import NamedTuple

import numpy as np

from bench.robustness import candidate_pairs, load_original, original_records, share, table, words
from hashing import FrameHashes, MediaRecord, Pixels, image_match, video_match
from hashing.match import LOOSEST_DISTANCE, RULES
from takeback.decode import video_frames as decoded_frames
from takeback.media import file_record, query_record
from tests.corpus import CORPUS
from tests.transforms import EMOJI_FONT
from tests.video_transforms import COPY_FPS, FAMILIES, LOW_BITRATE, VIDEO_EDITS, make_copy, source_frames

DEFAULT_SECONDS = 10.0
# vPDQ with PDQ alone (the baseline): Meta's PDQ threshold, and the share and frame count
# hashing.match.frames_match used when this tool was written.
VPDQ_DISTANCE = 31
VPDQ_MIN_FRAMES = 2
VPDQ_MIN_SHARE = 0.05
WEAK_QUALITY = 50
# Clips of one scene (name prefixes): edited copies of one another in the corpus.
SCENES = ("chair-", "pattern-", "carphone_")


def corpus_videos():
    return sorted((CORPUS / "tmk-videos").glob("*.mp4")) + sorted(p for p in (CORPUS / "videos").iterdir() if p.is_file())


def scene_of(name):
    return next((prefix.rstrip("-_") for prefix in SCENES if name.startswith(prefix)), name)


# --- hashing (in worker processes) -----------------------------------------------------

def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def hash_video(task):
    """One corpus video: its enrolled and query records, timings, and its copies' query records (as JSON)."""
    path, seconds, edit_names = task
    path = pathlib.Path(path)
    FrameHashes().add(0.0, Pixels(64, 64, bytes(range(256)) * 64, "RGBA"))  # warm-up: timings below are steady
    (duration, _), decode_seconds = timed(decoded_frames, path)
    enrolled, enrol_seconds = timed(file_record, path, query=False)
    query, query_seconds = timed(query_record, path)
    copy_duration, frames = source_frames(path, seconds)
    copies = []
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp) / "copy.mp4"
        for edit in VIDEO_EDITS:
            if edit.name not in edit_names:
                continue
            _, make_seconds = timed(make_copy, copy, edit, copy_duration, frames, "%s/%s" % (path.name, edit.name))
            record, hash_seconds = timed(query_record, copy)
            copy.unlink()
            copies.append({"edit": edit.name, "record": record.to_json(), "make_seconds": make_seconds,
                           "hash_seconds": hash_seconds})
    return {"name": path.name, "duration": duration, "copied_seconds": copy_duration,
            "enrolled": enrolled.to_json(), "query": query.to_json(),
            "seconds": {"decode": decode_seconds, "enrol": enrol_seconds, "query": query_seconds}, "copies": copies}


def hash_photo(path):
    enrolled, query = original_records(load_original(path))
    return {"name": path.name, "enrolled": enrolled.to_json(), "query": query.to_json()}


def run_tasks(fn, tasks, processes, what):
    t0 = time.perf_counter()
    out = []
    with multiprocessing.Pool(processes) as pool:
        for result in pool.imap_unordered(fn, tasks):
            out.append(result)
            print("  hashed %d/%d %s (%.0f s)" % (len(out), len(tasks), what, time.perf_counter() - t0),
                  file=sys.stderr, flush=True)
    return out


# --- matching --------------------------------------------------------------------------

class Query(NamedTuple):
    source: int  # index of the video it was made from
    edit: str  # the edit's name, or "original"
    family: str
    record: MediaRecord


def pdq_frames(record):
    """The distinct usable PDQ hashes of a video's frames, as a (n, 4) uint64 array."""
    values = dict.fromkeys(h.value for h in record.hashes if h.type == "pdq" and h.quality >= WEAK_QUALITY)
    return np.array([words(v) for v in values], dtype=np.uint64).reshape(-1, 4)


def vpdq_match(enrolled_frames, query_frames):
    """vPDQ with PDQ alone: {"query_share", "enrolled_share", "frames"} or None."""
    if not len(enrolled_frames) or not len(query_frames):
        return None
    close = np.bitwise_count(query_frames[:, None, :] ^ enrolled_frames[None, :, :]).sum(axis=2) <= VPDQ_DISTANCE
    frames = int(close.any(axis=1).sum())
    query_share, enrolled_share = frames / len(query_frames), float(close.any(axis=0).mean())
    if frames < VPDQ_MIN_FRAMES or max(query_share, enrolled_share) < VPDQ_MIN_SHARE:
        return None
    return {"query_share": round(query_share, 4), "enrolled_share": round(enrolled_share, 4), "frames": frames}


def usable_types(record):
    return Counter(h.type for h in record.hashes if h.perceptual and not h.weak)


def comparisons(enrolled, query):
    """How many pairs of hashes the rule compares between two videos (RULES rows, usable hashes)."""
    e, q = usable_types(enrolled), usable_types(query)
    return sum(e[e_type] * q[q_type] for e_type, q_type in RULES)


def chance_by_rule(queries, enrolled, different):
    """Per RULES row: (hash pairs of different scenes compared, pairs within the row's distance, closest)."""
    def table_of(records, sources, type_):
        rows, owners = [], []
        for source, r in zip(sources, records):
            for h in r.hashes:
                if h.type == type_ and not h.weak:
                    rows.append(words(h.value))
                    owners.append(source)
        if not rows:
            return np.zeros((0, 0), dtype=np.uint64), np.zeros(0, dtype=np.int64)
        return np.array(rows), np.array(owners, dtype=np.int64)
    out = {}
    for (e_type, q_type), limit in RULES.items():
        q_words, q_owner = table_of([q.record for q in queries], [q.source for q in queries], q_type)
        e_words, e_owner = table_of(enrolled, range(len(enrolled)), e_type)
        compared = within = 0
        closest = None
        if len(q_words) and len(e_words) and q_words.shape[1] == e_words.shape[1]:
            for start in range(0, len(q_words), 1024):
                d = np.bitwise_count(q_words[start:start + 1024, None, :] ^ e_words[None, :, :]).sum(axis=2)
                mask = different[q_owner[start:start + 1024]][:, e_owner]
                compared += int(mask.sum())
                within += int(((d <= limit) & mask).sum())
                if mask.any():
                    low = int(d[mask].min())
                    closest = low if closest is None else min(closest, low)
        out["%s -> %s" % (q_type, e_type)] = {"limit": limit, "compared": compared, "within": within, "closest": closest}
    return out


def summarise(xs):
    return "mean %.1f, max %d" % (statistics.mean(xs), max(xs)) if xs else "-"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="copies are made of each clip's first SECONDS")
    parser.add_argument("--videos", nargs="+", metavar="NAME", help="only videos whose file name contains one of these")
    parser.add_argument("--edits", nargs="+", metavar="NAME", help="only edits whose name contains one of these")
    parser.add_argument("--no-photos", action="store_true", help="skip the false matches against the corpus photos")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--json", metavar="FILE", help="write every figure and every copy's result here")
    parser.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"), help="print two runs' --json side by side, and stop")
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    if not EMOJI_FONT.exists():
        sys.exit("eval-video-robustness: %s is missing (apt-get install fonts-noto-color-emoji)" % EMOJI_FONT)
    started = time.perf_counter()
    paths = corpus_videos()
    if args.videos:
        paths = [p for p in paths if any(name in p.name for name in args.videos)]
    edits = [e for e in VIDEO_EDITS if not args.edits or any(name in e.name for name in args.edits)]
    scenes = {}
    for p in paths:
        scenes.setdefault(scene_of(p.name), []).append(p.name)
    print("Robustness of video matching: %d corpus videos, %d edits; copies made of each clip's first %g s "
          "(at most %d frames a second kept), H.264 MP4 by PyAV (libx264 ultrafast, crf 23; %d kbit/s for the "
          "low bitrate), hashed by query_record; originals enrolled whole by file_record(query=False). "
          "vPDQ (PDQ only): >= %d query frames within %d bits and >= %g%% of either video's frames. "
          "Rule: hashing.video_match."
          % (len(paths), len(edits), args.seconds, COPY_FPS, LOW_BITRATE // 1000, VPDQ_MIN_FRAMES, VPDQ_DISTANCE,
             100 * VPDQ_MIN_SHARE))
    print("Same scene (one original): " + "; ".join("%s: %s" % (s, ", ".join(n)) for s, n in scenes.items() if len(n) > 1))

    names = {e.name for e in edits}
    # Longest first, so that the two processes finish together.
    tasks = sorted(((str(p), args.seconds, names) for p in paths), key=lambda t: -pathlib.Path(t[0]).stat().st_size)
    results = sorted(run_tasks(hash_video, tasks, args.processes, "videos and their copies"), key=lambda r: r["name"])
    photos = []
    if not args.no_photos:
        photo_paths = sorted(p for p in (CORPUS / "photos").iterdir() if p.is_file())
        photos = sorted(run_tasks(hash_photo, photo_paths, args.processes, "photos"), key=lambda r: r["name"])
    hashed = time.perf_counter() - started

    video_names = [r["name"] for r in results]
    video_scene = [scene_of(n) for n in video_names]
    enrolled = [MediaRecord.from_json(r["enrolled"]) for r in results]
    family_of = {e.name: e.family for e in VIDEO_EDITS}
    originals = [Query(k, "original", "original", MediaRecord.from_json(r["query"])) for k, r in enumerate(results)]
    copies = [Query(k, c["edit"], family_of[c["edit"]], MediaRecord.from_json(c["record"]))
              for k, r in enumerate(results) for c in r["copies"]]
    queries = originals + copies
    candidates = candidate_pairs([q.record for q in queries], enrolled)
    enrolled_frames = [pdq_frames(r) for r in enrolled]

    # Recall: each copy against its own original.
    outcomes = []
    for i, q in enumerate(queries):
        if q.edit == "original":
            continue
        evidence = video_match(enrolled[q.source].hashes, q.record.hashes)
        if evidence is not None and (i, q.source) not in candidates:
            sys.exit("eval-video-robustness: %s / %s matched although no pair of its hashes is within "
                     "LOOSEST_DISTANCE=%d: hashing.match.LOOSEST_DISTANCE is too small"
                     % (video_names[q.source], q.edit, LOOSEST_DISTANCE))
        outcomes.append({"video": video_names[q.source], "edit": q.edit, "family": q.family,
                         "vpdq": vpdq_match(enrolled_frames[q.source], pdq_frames(q.record)), "rule": evidence})

    print()
    print("Recall: each copy against its own original's enrolled record")
    rows, family_rows, summary = [], [], {}
    for family in FAMILIES:
        mine = [o for o in outcomes if o["family"] == family]
        if not mine:
            continue
        for edit in (e for e in edits if e.family == family):
            these = [o for o in mine if o["edit"] == edit.name]
            vpdq_hits = sum(o["vpdq"] is not None for o in these)
            rule_hits = sum(o["rule"] is not None for o in these)
            shares = [o["rule"]["query_share"] if o["rule"] else 0.0 for o in these]
            rows.append([family, edit.name, len(these), share(vpdq_hits, len(these)), share(rule_hits, len(these)),
                         "%.2f" % statistics.median(shares)])
            summary[edit.name] = {"family": family, "copies": len(these), "vpdq": vpdq_hits, "rule": rule_hits}
        vpdq_hits = sum(o["vpdq"] is not None for o in mine)
        rule_hits = sum(o["rule"] is not None for o in mine)
        family_rows.append([family, len(mine), share(vpdq_hits, len(mine)), share(rule_hits, len(mine))])
    table(["family", "edit", "copies", "vPDQ (PDQ only)", "rule", "median query share (rule)"], rows)
    print()
    print("Recall per family")
    table(["family", "copies", "vPDQ (PDQ only)", "rule"], family_rows)
    missed = {}
    for o in outcomes:
        if o["rule"] is None:
            missed.setdefault(o["edit"], []).append(o["video"])
    print("Missed by the rule: " + ("; ".join("%s: %s" % (e, ", ".join(v)) for e, v in missed.items()) or "none"))

    # False matches among videos: different scenes only.
    different = np.array([[a != b for b in video_scene] for a in video_scene])
    pair_counts = {"original": 0, "copy": 0}
    false_vpdq, false_rule, called = [], [], 0
    for i, q in enumerate(queries):
        kind = "original" if q.edit == "original" else "copy"
        query_frames = pdq_frames(q.record)
        for j in range(len(enrolled)):
            if not different[q.source, j]:
                continue
            pair_counts[kind] += 1
            if vpdq_match(enrolled_frames[j], query_frames) is not None:
                false_vpdq.append({"query": "%s / %s" % (video_names[q.source], q.edit), "enrolled": video_names[j]})
            if (i, j) in candidates:
                called += 1
                evidence = video_match(enrolled[j].hashes, q.record.hashes)
                if evidence is not None:
                    false_rule.append({"query": "%s / %s" % (video_names[q.source], q.edit), "enrolled": video_names[j],
                                       "evidence": evidence})
    print()
    print("False matches among videos (different scenes only): %d pairs of originals (each original's query record "
          "against every other scene's enrolled record), %d pairs of a copy and another scene's original"
          % (pair_counts["original"], pair_counts["copy"]))
    print("  video_match called on %d of them (the others have no pair of hashes within LOOSEST_DISTANCE=%d)"
          % (called, LOOSEST_DISTANCE))
    for label, found in (("vPDQ (PDQ only)", false_vpdq), ("rule", false_rule)):
        print("  false matches, %s: %d" % (label, len(found)))
        for m in found:
            print("    %s -> %s%s" % (m["query"], m["enrolled"], ": " + json.dumps(m["evidence"]) if "evidence" in m else ""))

    # Chance: hash comparisons of different scenes per rule row, and per pair of videos.
    chance = chance_by_rule(queries, enrolled, different)
    print()
    print("Hash comparisons between different scenes, per rule row (queries: originals and copies)")
    table(["query -> enrolled type", "distance", "pairs compared", "within distance", "closest"],
          [[row, c["limit"], "{:,}".format(c["compared"]), c["within"], c["closest"] if c["closest"] is not None else "-"]
           for row, c in chance.items()])
    per_pair_originals = [comparisons(enrolled[j], q.record) for q in originals for j in range(len(enrolled))
                          if different[q.source, j]]
    per_pair_copies = [comparisons(enrolled[j], q.record) for q in copies for j in range(len(enrolled))
                       if different[q.source, j]]
    print("Hash comparisons per pair of videos (usable hashes, RULES rows): originals %s; copy vs original %s"
          % (summarise(per_pair_originals), summarise(per_pair_copies)))

    # Videos against photos, both ways, through image_match.
    photo_figures = None
    if photos:
        photo_enrolled = [MediaRecord.from_json(p["enrolled"]) for p in photos]
        photo_queries = [MediaRecord.from_json(p["query"]) for p in photos]
        video_as_photo = [MediaRecord("image", q.record.hashes) for q in queries]
        found = []
        for i, j in sorted(candidate_pairs(video_as_photo, photo_enrolled)):
            evidence = image_match(photo_enrolled[j], video_as_photo[i])
            if evidence is not None:
                found.append({"query": "%s / %s" % (video_names[queries[i].source], queries[i].edit),
                              "enrolled": photos[j]["name"], "evidence": evidence})
        enrolled_as_photo = [MediaRecord("image", r.hashes) for r in enrolled]
        for i, j in sorted(candidate_pairs(photo_queries, enrolled_as_photo)):
            evidence = image_match(enrolled_as_photo[j], photo_queries[i])
            if evidence is not None:
                found.append({"query": photos[i]["name"], "enrolled": video_names[j], "evidence": evidence})
        photo_figures = {"photos": len(photos), "video_queries": len(queries), "false_matches": found}
        print()
        print("Videos and photos (%d photos, reduced to <= 1024 px as in eval-robustness): every video record "
              "(%d: originals and copies) against every photo's enrolled record, and every photo's query "
              "record against every video's enrolled record, through hashing.image_match: %d false matches"
              % (len(photos), len(queries), len(found)))
        for m in found:
            print("    %s -> %s: %s" % (m["query"], m["enrolled"], json.dumps(m["evidence"])))

    # Costs.
    enrolled_hashes = [sum(h.perceptual for h in r.hashes) for r in enrolled]
    query_hashes = [sum(h.perceptual for h in q.record.hashes) for q in queries]
    sizes = [len(json.dumps(r.to_json(), separators=(",", ":")).encode()) for r in enrolled]
    minutes = sum(r["duration"] for r in results) / 60
    seconds = {k: sum(r["seconds"][k] for r in results) for k in ("decode", "enrol", "query")}
    make = sum(c["make_seconds"] for r in results for c in r["copies"])
    hash_copies = sum(c["hash_seconds"] for r in results for c in r["copies"])
    print()
    print("Perceptual hashes per video: enrolled %s; query (originals and copies) %s"
          % (summarise(enrolled_hashes), summarise(query_hashes)))
    print("Enrolled record as compact JSON: mean %.0f bytes, max %d bytes (%.0f bytes per minute of video)"
          % (statistics.mean(sizes), max(sizes), sum(sizes) / minutes))
    print("CPython seconds per minute of video (%.1f minutes of originals, %d processes busy at once): "
          "decoding (PyAV) %.1f; file_record enrol %.1f (hashing %.1f); query_record %.1f (hashing %.1f)"
          % (minutes, args.processes, seconds["decode"] / minutes, seconds["enrol"] / minutes,
             (seconds["enrol"] - seconds["decode"]) / minutes, seconds["query"] / minutes,
             (seconds["query"] - seconds["decode"]) / minutes))
    total = time.perf_counter() - started
    print("Run time: %.0f s (hashing, %d processes: %.0f s; making copies %.0f s and hashing them %.0f s, "
          "summed over processes)" % (total, args.processes, hashed, make, hash_copies))

    if args.json:
        with open(args.json, "w") as f:
            json.dump({
                "videos": video_names, "scenes": scenes, "seconds_copied": args.seconds, "copy_fps": COPY_FPS,
                "loosest_distance": LOOSEST_DISTANCE, "edits": summary,
                "false_matches": {"pairs": pair_counts, "video_match_calls": called, "vpdq": false_vpdq,
                                  "rule": false_rule},
                "chance_by_rule": chance, "comparisons_per_pair": {"originals": per_pair_originals,
                                                                   "copies": per_pair_copies},
                "photos": photo_figures, "enrolled_hashes": enrolled_hashes, "query_hashes": query_hashes,
                "enrolled_json_bytes": sizes, "seconds_per_minute": {k: v / minutes for k, v in seconds.items()},
                "run_seconds": total, "copies": outcomes,
            }, f, indent=1)


def compare(old_path, new_path):
    """Two runs' recall per edit and false matches side by side (same copies: same seeds, same PyAV)."""
    with open(old_path) as f:
        old = json.load(f)
    with open(new_path) as f:
        new = json.load(f)
    rows = []
    for name in dict.fromkeys(list(old["edits"]) + list(new["edits"])):
        a, b = old["edits"].get(name), new["edits"].get(name)
        family = (a or b)["family"]
        rows.append([family, name, share(a["vpdq"], a["copies"]) if a else "-", share(a["rule"], a["copies"]) if a else "-",
                     share(b["rule"], b["copies"]) if b else "-"])
    print("Recall per edit: %s (old) and %s (new)" % (old_path, new_path))
    table(["family", "edit", "vPDQ (PDQ only)", "old rule", "new rule"], rows)
    families = {}
    for run, key in ((old, "old"), (new, "new")):
        for e in run["edits"].values():
            f = families.setdefault(e["family"], {"old": [0, 0], "new": [0, 0]})
            f[key][0] += e["rule"]
            f[key][1] += e["copies"]
    print()
    table(["family", "old rule", "new rule"], [[f, share(*v["old"]), share(*v["new"])] for f, v in families.items()])
    print()
    for run, label in ((old, "old"), (new, "new")):
        fm = run["false_matches"]
        print("False matches among videos, %s rule: %d (of %s pairs); against photos: %s" % (
            label, len(fm["rule"]), fm["pairs"],
            len(run["photos"]["false_matches"]) if run.get("photos") else "not measured"))


if __name__ == "__main__":
    from bench import measured_on

    print(measured_on())
    main()
