"""The match rule: when does an enrolled hash record match a query hash record.

Used by the backend's match API and by platforms on their own machines, so both decide alike.
Which enrolled type may match which query type, and within how many bits, is data (RULES):
a new hash type is a new row, never a change to how existing ones match.
"""
from collections.abc import Sequence

from .records import HashRecord, MediaRecord

Frame = tuple[HashRecord, ...]  # one video frame's perceptual records (FRAME_TYPES)

# Meta's recommended PDQ threshold: at most 31 of 256 bits differ.
PDQ_MATCH_DISTANCE = 31
# Windows (hashing.robust): each pair of photos compares up to 60 x 7 window hashes, so the
# threshold must sit far below the closest hashes of different photos. Over 104 million such
# comparisons in `make eval-robustness` none came within 51 bits (the closest, 52: two photos
# of one scene; then 64), and 4 in a million within 88 (docs/ROBUST.md).
WINDOW_MATCH_DISTANCE = 40

# Blocks (hashing.robust): an enrolled photo's two (as it is and mirrored) against the
# upload's one, so two comparisons per pair. Over the 683,400 such comparisons of different
# photos in `make eval-robustness` none came within 55 bits (3 at 56, 21 within 64): 40
# leaves a 16-bit margin, more than the windows' 12 (docs/ROBUST.md).
BLOCKS_MATCH_DISTANCE = 40

# Block hashes of the windows of keypoint pairs (hashing.robust): ~42 enrolled against up to 6
# of the upload's (and each side's whole-picture block hash), ~280 comparisons per pair of
# photos. Over 95 million such comparisons of different photos in `make eval-robustness` the
# closest was 42 bits: 34 sits 8 below. Block hashes hold less than windows (smooth pictures
# agree on many cells), so this is the weakest evidence: about 1e-6 chance matches per pair
# of photos by the tail's trend, against 1e-10 for windows (docs/ROBUST.md).
PAIR_BLOCKS_MATCH_DISTANCE = 34

# (enrolled type, query type) -> the largest distance that is evidence of a match.
RULES = {
    ("pdq", "pdq"): PDQ_MATCH_DISTANCE,
    ("pdq-dihedral", "pdq-window"): WINDOW_MATCH_DISTANCE,  # a rotated or mirrored copy
    ("pdq-blocks", "pdq-blocks"): BLOCKS_MATCH_DISTANCE,  # a stickered or captioned copy
    ("pdq-window", "pdq-window"): WINDOW_MATCH_DISTANCE,  # a crop, a caption, padding, a sticker
    # A crop, with a sticker or a caption on it too; a window of one side may be the other's picture.
    ("pdq-pair-blocks", "pdq-pair-blocks"): PAIR_BLOCKS_MATCH_DISTANCE,
    ("pdq-pair-blocks", "pdq-blocks"): PAIR_BLOCKS_MATCH_DISTANCE,
    ("pdq-blocks", "pdq-pair-blocks"): PAIR_BLOCKS_MATCH_DISTANCE,
}

# No rule ever lets two perceptual hashes further apart than this count as evidence (indexes
# and evaluation tools use it to skip pairs that cannot match).
LOOSEST_DISTANCE = max(RULES.values())


def can_match(record: HashRecord) -> bool:
    """False for a record the rule never lets match anything: a weak perceptual hash.

    Indexes use this to leave such records out; record_distance applies it to both sides.
    """
    return not record.weak


def record_distance(enrolled: HashRecord, query: HashRecord, max_distance: int | None = None) -> int | None:
    """Distance if `query` matches `enrolled`, else None.

    Exact digests match only when equal (distance 0). Perceptual hashes match when RULES
    pairs their types, within its distance (max_distance, if given, replaces PDQ's 31 for
    the rows whose query type is "pdq"), and never when either side is weak: a featureless
    image's hash is too close to too many others to stand alone as evidence.
    """
    if not isinstance(enrolled, HashRecord) or not isinstance(query, HashRecord):
        raise TypeError("record_distance compares HashRecord values")
    if not enrolled.perceptual:
        return 0 if enrolled.type == query.type and enrolled.value == query.value else None
    limit = RULES.get((enrolled.type, query.type))
    if limit is None or not can_match(enrolled) or not can_match(query):
        return None
    if max_distance is not None and query.type == "pdq":
        limit = max_distance
    distance = enrolled.hash_value() - query.hash_value()
    return distance if distance <= limit else None


def image_match(enrolled: MediaRecord, query: MediaRecord, max_distance: int | None = None) -> dict | None:
    """Evidence if photo `query` matches enrolled photo `enrolled` (MediaRecords), else None.

    A photo matches when any pair of their hashes does (record_distance). The evidence:
    {"type": enrolled hash type, "query_type", "enrolled": i, "query": j (positions in the
    records' hash lists), "distance", "pairs": how many pairs matched}, for the closest pair.
    """
    best, nearest, pairs = None, 0, 0
    for i, e in enumerate(enrolled.hashes):
        for j, q in enumerate(query.hashes):
            d = record_distance(e, q, max_distance)
            if d is None:
                continue
            pairs += 1
            if best is None or d < nearest:
                best = {"type": e.type, "query_type": q.type, "enrolled": i, "query": j, "distance": d}
                nearest = d
    if best is not None:
        best["pairs"] = pairs
    return best


# The perceptual types of a video frame (FrameHashes.records): a PDQ starts each frame, its
# block hash and window hashes (hashing.robust) follow it. Records enrolled before the window
# hashes hold a PDQ and a block hash per frame, which is the same grouping.
FRAME_TYPES = ("pdq", "pdq-blocks", "pdq-window", "pdq-pair-blocks")


def frame_numbers(records: Sequence[HashRecord]) -> list[int | None]:
    """For each of a video's hash records, the number of the frame it belongs to (None for a
    digest): each PDQ record starts a frame and the block, window and pair block hashes after it belong to
    that frame (hashing.video.FrameHashes.records). Raises ValueError for any other order."""
    out: list[int | None] = []
    frame = -1
    for r in records:
        if not r.perceptual:
            out.append(None)
            continue
        if r.type == "pdq":
            frame += 1
        elif r.type not in FRAME_TYPES or frame < 0:
            raise ValueError("video frames are a PDQ record, each followed by its pdq-blocks, pdq-window and pdq-pair-blocks records; "
                             "got %s" % r.type)
        out.append(frame)
    return out


def video_frames(records: Sequence[HashRecord]) -> list[Frame]:
    """A video's frames from its hash records (frame_numbers), digests skipped: a list of
    tuples of HashRecords."""
    frames: dict[int, list[HashRecord]] = {}
    for r, n in zip(records, frame_numbers(records)):
        if n is not None:
            frames.setdefault(n, []).append(r)
    return [tuple(f) for f in frames.values()]


def frame_distance(enrolled: Frame, query: Frame, max_distance: int | None = None) -> int | None:
    """The distance of the closest pair of records of two frames (tuples of HashRecords) that
    RULES lets match (record_distance), else None."""
    closest = _closest_pair(enrolled, query, max_distance)
    return None if closest is None else closest[0]


def _closest_pair(enrolled, query, max_distance):
    """(distance, enrolled record, query record) of the closest pair of two frames' records
    that RULES lets match, else None; a pair that is strong evidence before any weak one."""
    best = None
    for e in enrolled:
        for q in query:
            d = record_distance(e, q, max_distance)
            if d is not None and (best is None or _rank(d, e, q) < _rank(*best)):
                best = (d, e, q)
    return best


def _rank(distance, enrolled, query):
    """Which of two matching pairs is the better evidence: strong before weak, then nearer."""
    return weak_evidence(enrolled, query), distance


def weak_evidence(enrolled: HashRecord, query: HashRecord) -> bool:
    """True for a pair whose match is weak evidence: either is a pair block (see RULES)."""
    return enrolled.type == "pdq-pair-blocks" or query.type == "pdq-pair-blocks"


def frame_shares(enrolled: list[Frame], query: list[Frame], max_distance: int | None = None) -> tuple[float, float]:
    """vPDQ's comparison of two videos' frames (lists of tuples of HashRecords, video_frames).

    Returns (query_share, enrolled_share): the share of the query's distinct usable frames
    that match some usable enrolled frame (frame_distance), and the reverse. Weak frames
    (quality < 50: black, blurred or blank) take no part, as in vPDQ. A video with no usable
    frame shares nothing.
    """
    return _matched_frames(enrolled, query, max_distance)[:2]


def _matched_frames(enrolled, query, max_distance):
    """(query_share, enrolled_share, closest): closest maps the position (in `query`) of each
    query frame that matches an enrolled frame to (distance, enrolled position, enrolled
    record, query record) of its closest pair."""
    a, b = _usable(enrolled), _usable(query)
    matched_a: set[int] = set()
    closest: dict[int, tuple[int, int, HashRecord, HashRecord]] = {}
    for i, x in a:
        for j, y in b:
            pair = _closest_pair(x, y, max_distance)
            if pair is None:
                continue
            matched_a.add(i)
            if j not in closest or _rank(pair[0], pair[1], pair[2]) < _rank(*closest[j][:1], *closest[j][2:]):
                closest[j] = (pair[0], i, pair[1], pair[2])
    if not a or not b:
        return 0.0, 0.0, closest
    return len(closest) / len(b), len(matched_a) / len(a), closest


def _usable(frames):
    """(position, records) of the frames with a record that can match, only those records,
    each repeat of an earlier frame left out."""
    out, seen = [], set()
    for n, frame in enumerate(frames):
        kept = tuple(r for r in frame if can_match(r))
        if kept and kept not in seen:
            seen.add(kept)
            out.append((n, kept))
    return out


# A video matches when at least this many distinct query frames each match an enrolled
# frame (each one is a full PDQ, block or window hash match, strong evidence alone; two guard
# against a fluke) and they are at least this share of either video. On the corpus, every
# pair of different videos shares no frame at all; the weakest true pair (a clip cut
# mid-second from a fast-moving original) shares 5 of 19 frames (2 by PDQ alone).
VIDEO_MIN_FRAMES = 2
VIDEO_MIN_SHARE = 0.05
# A frame matched by pair blocks only (a crop's) is weak evidence: a pair of long videos
# compares up to ~250,000 pair blocks, so about 1e-3 chance frame matches per pair at the
# photos' rate (docs/ROBUST.md, Video). Then the video needs this many such query frames,
# matching as many different enrolled frames (frames of one scene are no independent flukes).
VIDEO_MIN_WEAK_FRAMES = 3


def frames_match(enrolled: list[Frame], query: list[Frame], max_distance: int | None = None) -> dict | None:
    """Evidence if the query video matches the enrolled one (their frames, video_frames),
    else None: vPDQ's pair of shares, the number of query frames that matched, and for each
    of them its closest pair of hashes (strong evidence before weak): {"query_frame", "enrolled_frame" (positions in the
    lists of frames), "type" (the enrolled hash's), "query_type", "distance"}."""
    query_share, enrolled_share, closest = _matched_frames(enrolled, query, max_distance)
    if len(closest) < VIDEO_MIN_FRAMES or max(query_share, enrolled_share) < VIDEO_MIN_SHARE:
        return None
    strong = sum(not weak_evidence(e, q) for _, _, e, q in closest.values())
    if strong < VIDEO_MIN_FRAMES and (len(closest) < VIDEO_MIN_WEAK_FRAMES
                                      or len({i for _, i, _, _ in closest.values()}) < VIDEO_MIN_WEAK_FRAMES):
        return None
    matches = [{"query_frame": j, "enrolled_frame": i, "type": e.type, "query_type": q.type, "distance": d}
               for j, (d, i, e, q) in sorted(closest.items())]
    return {"query_share": round(query_share, 4), "enrolled_share": round(enrolled_share, 4), "frames": len(closest),
            "matches": matches}


def video_shares(enrolled: Sequence[HashRecord], query: Sequence[HashRecord],
                 max_distance: int | None = None) -> tuple[float, float]:
    """frame_shares of two videos' hash records."""
    return frame_shares(video_frames(enrolled), video_frames(query), max_distance)


def video_match(enrolled: Sequence[HashRecord], query: Sequence[HashRecord],
                max_distance: int | None = None) -> dict | None:
    """Evidence if the query video matches the enrolled one (their hash records), else None (frames_match)."""
    return frames_match(video_frames(enrolled), video_frames(query), max_distance)
