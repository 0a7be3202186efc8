"""Matching hash records against a feed: the one engine behind the server's match API
(backend/matching.py), a platform's Matcher (takeback/partner/matcher.py) and `takeback compare`.

A feed is entries, each an id and a hash record, active or not, changed in sequence-number
order. Where the entries live is the FeedSource's business: the server's database, a
platform's local SQLite store, records in memory. The FeedMatcher keeps
takeback.index.RuleIndex (one PDQ index per enrolled type of hashing.match.RULES) over the
active perceptual entries, built from a snapshot and then brought up to date by sequence
(sync). A query looks up perceptual hashes in the index and digests by equality in the
source; the index only proposes candidates, and hashing.record_distance decides, with each
entry read from the source at match time, so an entry withdrawn since the last sync never
matches.
"""
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from hashing import HashRecord, MediaRecord, can_match, record_distance

from .index import RuleIndex, hashes_to_words

Change = tuple[int, HashRecord, bool, int]  # (id, record, active, seq)
Found = tuple[int, Any, int]  # (id, entry, distance)


def latest_changes(pages: Iterable[list[Change]]) -> tuple[dict[int, HashRecord | None], int | None]:
    """From pages of changes: per entry id its HashRecord, or None when it is withdrawn or too weak
    to match (a later change of an entry wins), and the sequence of the last change (None if none)."""
    latest: dict[int, HashRecord | None] = {}
    seq = None
    for page in pages:
        for key, record, active, _ in page:
            latest[key] = record if active and can_match(record) else None
        seq = page[-1][3]
    return latest, seq


class FeedSource:
    """Where a FeedMatcher reads a feed. Entries are whatever the source likes to hand back
    (a database row, a dict, a HashRecord); record() turns one into its HashRecord."""

    def changes(self, after: int, types: Sequence[str]) -> Iterator[list[Change]]:
        """Pages (lists) of (id, HashRecord, active, seq) of the entries of `types` changed after
        sequence `after`, in sequence order."""
        raise NotImplementedError

    def entries(self, ids: Sequence[int]) -> dict[int, Any]:
        """{id: entry} of the active entries among `ids`."""
        raise NotImplementedError

    def entries_by_value(self, type_: str, values: Sequence[str]) -> dict[str, list[tuple[int, Any]]]:
        """{value: [(id, entry)]} of the active entries of exact type `type_` with these values."""
        raise NotImplementedError

    def record(self, entry: Any) -> HashRecord:
        """The HashRecord of an entry."""
        raise NotImplementedError

    def snapshot(self, types: Sequence[str]) -> tuple[int, dict[str, tuple[Any, Any]]]:
        """(seq, {type: (ids, words)}) of the active entries of `types` that can match, as of
        sequence seq: the index's first build. From changes(); a source may read it faster."""
        latest, seq = latest_changes(self.changes(0, types))
        by_type: dict[str, tuple[list[int], list[str]]] = {}
        for key, kept in latest.items():
            if kept is not None:
                by_type.setdefault(kept.type, ([], []))
                by_type[kept.type][0].append(key)
                by_type[kept.type][1].append(kept.value)
        return seq or 0, {t: (ids, hashes_to_words(values)) for t, (ids, values) in by_type.items()}


class FeedMatcher:
    """Hash records matched against one FeedSource through a RuleIndex.

    Made from hashing.match.RULES as they are when it is made (or `rules`): a rule the index
    cannot serve is an error here (takeback.index.RuleIndex). Thread-safe; the source reads
    entries under its own guard if it needs one.
    """

    def __init__(self, source: FeedSource, rules: Mapping[tuple[str, str], int] | None = None):
        self.source = source
        self.index = RuleIndex(rules)
        self.seq: int | None = None  # the feed sequence the index reflects; None before the first sync
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.index)

    def sync(self) -> int:
        """Bring the index up to date with the source: built at the first call, then changed by
        sequence (a later change of an entry wins). Returns how many entries it took in or changed."""
        with self._lock:
            if self.seq is None:
                self.seq, snapshot = self.source.snapshot(self.index.types)
                for type_, (ids, words) in snapshot.items():
                    self.index.build(type_, ids, words)
                return sum(len(ids) for ids, _ in snapshot.values())
            return self._catch_up()

    def _catch_up(self) -> int:
        """Apply the source's changes after self.seq to the index (under self._lock)."""
        assert self.seq is not None
        latest, seq = latest_changes(self.source.changes(self.seq, self.index.types))
        gone = [key for key, record in latest.items() if record is None]
        if gone:
            self.index.remove_many(gone)
        added: dict[str, list[tuple[int, str]]] = {}
        for key, record in latest.items():
            if record is not None:
                added.setdefault(record.type, []).append((key, record.value))
        for type_, pairs in added.items():
            self.index.add_many(type_, [k for k, _ in pairs], [v for _, v in pairs])
        if seq is not None:
            self.seq = seq
        return len(latest)

    def match(self, queries: Iterable[HashRecord], max_distance: int | None = None) -> list[list[Found]]:
        """For each HashRecord query, [(id, entry, distance)] of the active entries it matches,
        nearest first (then by id).

        A perceptual query is looked up in the index of every enrolled type the rules pair it
        with (weak ones never match); `max_distance` replaces the distance of the rows whose
        query type is "pdq" (as in hashing.record_distance). Digests match by equality. The
        index is used as it is: sync() first for the latest changes.
        """
        queries = list(queries)
        candidates: list[list[int]] = [[] for _ in queries]
        perceptual = [n for n, q in enumerate(queries) if q.perceptual and can_match(q)]
        if perceptual and len(self.index):
            with self._lock:
                hits = self.index.search([queries[n] for n in perceptual], max_distance)
            for n, found in zip(perceptual, hits):
                candidates[n].extend(key for key, _ in found)
        entries = self.source.entries(list(dict.fromkeys(k for ids in candidates for k in ids)))
        exact: dict[str, list[int]] = {}
        for n, q in enumerate(queries):
            if not q.perceptual:
                exact.setdefault(q.type, []).append(n)
        for type_, numbers in exact.items():
            by_value = self.source.entries_by_value(type_, list(dict.fromkeys(queries[n].value for n in numbers)))
            for n in numbers:
                for key, entry in by_value.get(queries[n].value, ()):
                    entries[key] = entry
                    candidates[n].append(key)
        results = []
        for q, ids in zip(queries, candidates):
            matches: list[Found] = []
            for key in ids:
                entry = entries.get(key)  # None: withdrawn since the index last synced
                distance = None if entry is None else record_distance(self.source.record(entry), q, max_distance)
                if distance is not None:
                    matches.append((key, entry, distance))
            matches.sort(key=lambda m: (m[2], m[0]))
            results.append(matches)
        return results


class MemoryFeed(FeedSource):
    """A feed held in memory: HashRecords under ids, all active (`takeback compare`)."""

    def __init__(self, records: Mapping[int, HashRecord]):
        self.records = dict(records)
        self._by_value: dict[tuple[str, str], list[tuple[int, Any]]] = {}
        for key, r in self.records.items():
            if not r.perceptual:
                self._by_value.setdefault((r.type, r.value), []).append((key, r))

    def changes(self, after: int, types: Sequence[str]) -> Iterator[list[Change]]:
        if after < 1:
            yield [(key, r, True, 1) for key, r in self.records.items() if r.type in types]

    def entries(self, ids: Sequence[int]) -> dict[int, Any]:
        return {key: self.records[key] for key in ids if key in self.records}

    def entries_by_value(self, type_: str, values: Sequence[str]) -> dict[str, list[tuple[int, Any]]]:
        return {v: self._by_value[type_, v] for v in values if (type_, v) in self._by_value}

    def record(self, entry: Any) -> HashRecord:
        return entry


def media_candidates(enrolled: Sequence[MediaRecord], queries: Iterable[MediaRecord],
                     max_distance: int | None = None) -> list[list[int]]:
    """For each query MediaRecord, the positions in `enrolled` (MediaRecords) of the media any of
    whose hashes match one of the query's (hashing.record_distance), in enrolled order.

    Every media-level rule (hashing.image_match, hashing.video_match) needs at least one such
    pair, so these are all the enrolled media a query can match, found through the index
    instead of by comparing every pair."""
    records: dict[int, HashRecord] = {}
    owner: list[int] = []
    for m, media in enumerate(enrolled):
        for r in media.hashes:
            records[len(owner)] = r
            owner.append(m)
    matcher = FeedMatcher(MemoryFeed(records))
    matcher.sync()
    queries = list(queries)
    flat = [(n, r) for n, query in enumerate(queries) for r in query.hashes]  # one batched search
    out: list[set[int]] = [set() for _ in queries]
    for (n, _), matches in zip(flat, matcher.match([r for _, r in flat], max_distance)):
        out[n].update(owner[key] for key, _, _ in matches)
    return [sorted(found) for found in out]

