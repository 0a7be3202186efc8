"""The Python API for upload pipelines: a matcher over the local store.

    matcher = Matcher.from_store("takeback-partner.sqlite")
    result = matcher.match_file("upload.mp4")     # FileResult; result.matches is [] when clean
    matcher.match_records([HashRecord("pdq", "f8f8...", 92)])   # per record, [Match, ...]
    matcher.refresh()                             # after a `takeback partner sync`: apply the changes
    Matcher.from_rows(store.active_rows())        # the store's entries in memory (takeback.spark's executors)

Matching is the server's own engine (takeback.matching.FeedMatcher, the rule of
hashing.match.RULES) over the local store as its feed source (StoreFeed): perceptual hashes
are looked up in takeback.index.RuleIndex, every candidate is confirmed with
hashing.record_distance, md5/sha256 match by equality through the store's (type, value)
index. Entry details are read from the store at match time, so an entry withdrawn by a later
sync never matches, even before refresh(). Only the indexes are held in memory (about 105-130
bytes a hash, and an enrolled photo brings ~64 perceptual hashes); entries stay in SQLite.
"""
import sqlite3
import threading
from dataclasses import dataclass, field

import numpy as np

from hashing import FRAME_TYPES, WEAK_QUALITY, HashRecord, MediaRecord, can_match, frame_numbers, frames_match, video_frames
from hashing.records import SIGNAL_TYPES
from takeback.index import hashes_to_words
from takeback.matching import FeedMatcher, FeedSource
from takeback.media import query_record

from .store import ACTIVE, FIELDS, LocalStore, entry_dict

_LOAD_BATCH = 200_000


class StoreFeed(FeedSource):
    """The local store (made by `takeback partner sync`) as the engine's feed source.

    A connection of its own, usable from any thread (guarded by a lock)."""

    def __init__(self, path):
        self.db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self.lock = threading.Lock()

    @staticmethod
    def _types_sql(types):
        return "type IN (%s)" % ", ".join("?" * len(types)), list(types)

    def snapshot(self, types):
        # One sequential scan, no Python object per row: quality >= WEAK_QUALITY is
        # hashing.can_match for perceptual hashes, in SQL.
        with self.lock:
            seq = self.db.execute("SELECT MAX(COALESCE((SELECT MAX(seq) FROM entries), 0), "
                                  "COALESCE((SELECT MAX(seq) FROM dropped), 0))").fetchone()[0]
            types_sql, params = self._types_sql(types)
            keys = {t: [] for t in types}
            words = {t: [] for t in types}
            rows = self.db.execute("SELECT type, id, value FROM entries NOT INDEXED "
                                   "WHERE %s AND status = ? AND quality >= ?" % types_sql,
                                   params + [ACTIVE, WEAK_QUALITY])
            while True:
                batch = rows.fetchmany(_LOAD_BATCH)
                if not batch:
                    break
                by_type = {}
                for type_, key, value in batch:
                    by_type.setdefault(type_, ([], []))
                    by_type[type_][0].append(key)
                    by_type[type_][1].append(value)
                for type_, (ids, values) in by_type.items():
                    keys[type_].append(np.array(ids, dtype=np.int64))
                    words[type_].append(hashes_to_words(values))
        return seq, {t: (np.concatenate(keys[t]), np.concatenate(words[t])) for t in types if keys[t]}

    def changes(self, after, types):
        types_sql, params = self._types_sql(types)
        with self.lock:
            rows = self.db.execute("SELECT id, type, value, quality, status, seq FROM entries INDEXED BY entries_seq "
                                   "WHERE seq > ? AND %s" % types_sql, [after] + params).fetchall()
            # Entries a tombstone deleted: out of the index (their hash is no longer known here).
            dropped = self.db.execute("SELECT id, seq FROM dropped WHERE seq > ? AND %s" % types_sql,
                                      [after] + params).fetchall()
        changes = [(key, HashRecord(type_, value, quality), status == ACTIVE, seq)
                   for key, type_, value, quality, status, seq in rows]
        changes += [(key, None, False, seq) for key, seq in dropped]
        if changes:
            yield sorted(changes, key=lambda change: change[3])

    def entries(self, ids):
        found = {}
        with self.lock:
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                sql = "SELECT %s FROM entries WHERE status = ? AND id IN (%s)" % (", ".join(FIELDS), ",".join("?" * len(part)))
                for row in self.db.execute(sql, [ACTIVE] + part):
                    found[row[0]] = entry_dict(row)
        return found

    def entries_by_value(self, type_, values):
        found = {}
        sql = "SELECT %s FROM entries WHERE type = ? AND value = ? AND status = ?" % ", ".join(FIELDS)
        with self.lock:
            for value in values:
                for row in self.db.execute(sql, (type_, value, ACTIVE)):
                    found.setdefault(value, []).append((row[0], entry_dict(row)))
        return found

    @staticmethod
    def record(entry):
        return HashRecord(entry["type"], entry["value"], entry["quality"])


class RowFeed(FeedSource):
    """The store's active entries as rows (LocalStore.active_rows) in memory, as the engine's feed
    source: a Spark executor's (takeback.spark). Rows take half the memory of dicts, and the
    index is built without an object per row (10M hashes in seconds); entries are handed out
    as the store's dicts."""

    def __init__(self, rows):
        self.rows = {row[0]: row for row in rows}
        self.by_value = {}  # (type, value) -> [row] of the digests (md5, sha256): matched by equality
        for row in rows:
            signal = SIGNAL_TYPES.get(row[1])
            if signal is not None and not signal.perceptual:
                self.by_value.setdefault((row[1], row[2]), []).append(row)

    def snapshot(self, types):
        # hashing.can_match without a HashRecord per row (a perceptual hash is weak below
        # WEAK_QUALITY), as StoreFeed.snapshot does in SQL.
        wanted = set(types)
        by_type = {}
        for key, type_, value, quality, *_ in self.rows.values():
            if type_ in wanted and (quality is None or quality >= WEAK_QUALITY):
                ids, values = by_type.setdefault(type_, ([], []))
                ids.append(key)
                values.append(value)
        return 1, {t: (np.array(ids, dtype=np.int64), hashes_to_words(values)) for t, (ids, values) in by_type.items()}

    def changes(self, after, types):
        return iter(())  # the rows never change: a new scan broadcasts new ones

    def entries(self, ids):
        return {key: entry_dict(self.rows[key]) for key in ids if key in self.rows}

    def entries_by_value(self, type_, values):
        return {value: [(row[0], entry_dict(row)) for row in self.by_value[type_, value]]
                for value in values if (type_, value) in self.by_value}

    def record(self, entry):
        return StoreFeed.record(entry)


@dataclass
class Match:
    """One feed entry a query hash matched, with the evidence."""
    entry: dict          # the feed entry as the store holds it (id, type, value, quality, media, status, ...)
    distance: int        # 0 for digests; bits for perceptual hashes
    query: HashRecord    # the query hash that matched (entry["type"] and query.type: which rule)
    frames: list = field(default_factory=list)  # for a video query: which of its frame hashes matched

    def to_json(self):
        e = self.entry
        out = {"entry": e["id"], "type": e["type"], "query_type": self.query.type, "distance": self.distance,
               "value": e["value"], "quality": e["quality"], "entry_media": e["media"],
               "disputed": e["disputed"], "updated": e["updated"]}
        if self.frames:
            out["frames"] = self.frames
        return out


@dataclass
class FileResult:
    path: str
    media: str
    matches: list                 # [Match], nearest first
    video: dict = None            # for a video: the summary (see Matcher.match_media)

    def to_json(self):
        out = {"path": self.path, "media": self.media, "matches": [m.to_json() for m in self.matches]}
        if self.video is not None:
            out["video"] = self.video
        return out


class Matcher:
    def __init__(self, store, max_distance=None, feed=None):
        """max_distance, when given, replaces the distance of the match rules' rows for a query
        PDQ (as in hashing.record_distance); None keeps hashing.match.RULES as they are.
        `feed`: match against this FeedSource instead of the store (see from_rows)."""
        self.store = None if feed is not None else store if isinstance(store, LocalStore) else LocalStore(store)
        # hashing.match.RULES as they are now: an unservable rule fails here
        self.engine = FeedMatcher(feed if feed is not None else StoreFeed(self.store.path))
        self.index = self.engine.index
        if max_distance is not None and not 0 <= max_distance <= self.index.max_override:
            raise ValueError("max_distance must be 0..%d" % self.index.max_override)
        self.max_distance = max_distance

    @classmethod
    def from_store(cls, path, max_distance=None):
        """A matcher over the local store at `path` (made by `takeback partner sync`), index built."""
        matcher = cls(path, max_distance)
        matcher.engine.sync()
        return matcher

    @classmethod
    def from_rows(cls, rows, max_distance=None):
        """A matcher over the store's active entries held in memory (LocalStore.active_rows(), read
        once on a Spark driver and broadcast to the executors), index built. The same engine, rule
        and evidence as from_store; refresh() has nothing to apply."""
        matcher = cls(None, max_distance, RowFeed(rows))
        matcher.engine.sync()
        return matcher

    def refresh(self):
        """Apply the store's changes since the index was built or last refreshed; how many."""
        return self.engine.sync()

    def __len__(self):
        return len(self.engine)

    def match_records(self, records):
        """For each HashRecord (or its JSON dict), the [Match] of active entries it matches, nearest first.

        A perceptual hash is looked up in the index of every enrolled type the match rules
        pair its type with (a PDQ: enrolled PDQs and rotations/flips; a window: enrolled
        windows), and every candidate is confirmed with hashing.record_distance.
        """
        records = [r if isinstance(r, HashRecord) else HashRecord.from_json(r) for r in records]
        return [[Match(entry, distance, r) for _, entry, distance in found]
                for r, found in zip(records, self.engine.match(records, self.max_distance))]

    def match_media(self, record, path=None):
        """A FileResult for one MediaRecord (a photo's or a video's hash records).

        A photo: every entry any of its hashes matches (its PDQ: enrolled PDQs and rotations/
        flips; its windows: enrolled windows; its digests: equal digests), one Match per entry
        with the nearest evidence (Match.to_json: the entry's "type", the "query_type" and the
        "distance"), nearest first. A video: its frames' PDQ, block and window hashes are
        matched one by one; the feed does not group frame hashes into videos (each is an entry of its
        own with media "video"), so the evidence is per entry, with the query frames (positions
        in the video's list of frames, hashing.video_frames) that matched it, and `video`
        summarises: {"frames": usable query frames, "matched_frames": how many matched any
        entry, "rule": hashing.frames_match of the matched video entries (each a frame of its
        own) against the query frames (None when the rule finds no match), its "matches" naming
        for each matched query frame the entry, the two hash types and the distance}.
        """
        if not isinstance(record, MediaRecord):
            record = MediaRecord.from_json(record)
        per_record = self.match_records(record.hashes)
        if record.media != "video":
            matches = [m for found in per_record for m in found]
            matches.sort(key=lambda m: (m.distance, m.entry["id"]))
            return FileResult(path, record.media, _dedupe(matches))
        frames = video_frames(record.hashes)
        numbers = frame_numbers(record.hashes)  # per record, its frame's position in frames
        by_entry = {}
        matched_frames = set()
        for n, found in enumerate(per_record):
            for m in found:
                kept = by_entry.get(m.entry["id"])
                if kept is None:
                    kept = by_entry[m.entry["id"]] = Match(m.entry, m.distance, m.query)
                elif m.distance < kept.distance:
                    kept.distance, kept.query = m.distance, m.query
                if numbers[n] is not None and numbers[n] not in kept.frames:
                    kept.frames.append(numbers[n])
                    matched_frames.add(numbers[n])
        matches = sorted(by_entry.values(), key=lambda m: (m.distance, m.entry["id"]))
        usable = [f for f in frames if any(map(can_match, f))]
        of_videos = [m for m in matches if m.entry["type"] in FRAME_TYPES and m.entry["media"] == "video"]
        enrolled = [(HashRecord(m.entry["type"], m.entry["value"], m.entry["quality"]),) for m in of_videos]
        rule = frames_match(enrolled, frames, self.max_distance) if enrolled else None
        for pair in rule["matches"] if rule else ():  # each enrolled "frame" is one entry: name it
            pair["entry"] = of_videos[pair.pop("enrolled_frame")].entry["id"]
        summary = {"frames": len(usable), "matched_frames": len(matched_frames), "rule": rule}
        return FileResult(path, "video", matches, summary)

    def match_file(self, path):
        """Hash a file on this machine (query_record) and match it: a FileResult. Nothing is sent anywhere.

        Raises takeback.decode.DecodeError (or a hashing error) for a file it cannot decode.
        """
        return self.match_media(query_record(path), str(path))


def _dedupe(matches):
    seen, out = set(), []
    for m in matches:
        if m.entry["id"] not in seen:
            seen.add(m.entry["id"])
            out.append(m)
    return out
