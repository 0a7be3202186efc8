"""Matching query hashes against the active feed entries, with the rule from hashing.match.

Exact digests are looked up by equality in the database. PDQ hashes go through the
multi-index (takeback.index), which this process keeps in step with the feed: built at
first use, then brought up to date by change sequence before every match. The index only
proposes candidates (with exact recall); hashing.record_distance decides.
"""
import threading

from hashing import SIGNAL_TYPES, HashRecord, can_match, record_distance
from takeback.index import PdqIndex

from . import storage
from .models import ACTIVE

_SYNC_PAGE = 10_000


class FeedIndex:
    """The PDQ index of one server process, and the feed sequence it reflects."""

    def __init__(self):
        self.lock = threading.Lock()
        self.index = PdqIndex()
        self.seq = 0

    def sync(self):
        # Feed sequences become visible in order (storage.writing), so "after self.seq"
        # is every change this index has not seen yet. A later change of an entry wins.
        latest = {}
        seq = self.seq
        while True:
            entries = storage.feed_after(seq, _SYNC_PAGE, type_="pdq")
            if not entries:
                break
            for e in entries:
                latest[e.id] = e.value if e.status == ACTIVE and can_match(_record(e)) else None
            seq = entries[-1].seq
        adds = {key: value for key, value in latest.items() if value is not None}
        if not len(self.index):
            self.index = PdqIndex.from_hashes(list(adds), list(adds.values()))
        else:
            for key, value in latest.items():
                if value is None:
                    self.index.remove(key)
            self.index.add_many(list(adds), list(adds.values()))
        self.seq = seq

    def search(self, hexes, max_distance):
        with self.lock:
            self.sync()
            return self.index.search(hexes, max_distance)


def _record(entry):
    return HashRecord(entry.type, entry.value, entry.quality)


def match(feed_index, queries, max_distance):
    """For each HashRecord query, [(FeedEntry, distance)] of the active entries it matches."""
    candidates = [[] for _ in queries]  # per query: entry ids
    exact = {}
    pdq = []
    for n, q in enumerate(queries):
        if not SIGNAL_TYPES[q.type].perceptual:
            exact.setdefault(q.type, []).append(n)
        elif q.type == "pdq" and can_match(q):
            pdq.append(n)
    entries = {}
    for type_, numbers in exact.items():
        found = storage.active_entries_by_value(type_, [queries[n].value for n in numbers])
        for n in numbers:
            entry = found.get(queries[n].value)
            if entry is not None:
                entries[entry.id] = entry
                candidates[n].append(entry.id)
    if pdq:
        for n, hits in zip(pdq, feed_index.search([queries[n].value for n in pdq], max_distance)):
            candidates[n].extend(key for key, _ in hits)
        entries.update(storage.active_entries([i for n in pdq for i in candidates[n]]))
    results = []
    for q, ids in zip(queries, candidates):
        matches = []
        for entry_id in ids:
            entry = entries.get(entry_id)  # None if withdrawn since the index last synced
            distance = None if entry is None else record_distance(_record(entry), q, max_distance)
            if distance is not None:
                matches.append((entry, distance))
        matches.sort(key=lambda m: (m[1], m[0].id))
        results.append(matches)
    return results
