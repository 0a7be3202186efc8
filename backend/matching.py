"""Matching query hashes against the active feed entries, with the rule from hashing.match.

Exact digests are looked up by equality in the database. Perceptual hashes go through the
multi-index (takeback.index.RuleIndex: one PdqIndex per enrolled type of hashing.match.RULES,
so a query PDQ finds enrolled PDQs and the enrolled rotations/flips, a query window finds
enrolled windows), which this process keeps in step with the feed: built at first use, then
brought up to date by change sequence before every match. The index only proposes
candidates (with exact recall); hashing.record_distance decides.
"""
import threading

from hashing import HashRecord, can_match, record_distance
from takeback.index import RuleIndex, hashes_to_words

from . import storage
from .models import ACTIVE

_SYNC_PAGE = 10_000


class FeedIndex:
    """The perceptual-hash indexes of one server process, and the feed sequence they reflect.

    Made from hashing.match.RULES as they are when the app is created: a rule the index
    cannot serve stops the app from starting (takeback.index.RuleIndex).
    """

    def __init__(self, rules=None):
        self.lock = threading.Lock()
        self.index = RuleIndex(rules)
        self.seq = 0

    def sync(self):
        # Feed sequences become visible in order (storage.writing), so "after self.seq"
        # is every change this index has not seen yet. A later change of an entry wins.
        latest = {}
        seq = self.seq
        while True:
            entries = storage.feed_after(seq, _SYNC_PAGE, type_=self.index.types)
            if not entries:
                break
            for e in entries:
                latest[e.id] = (e.type, e.value if e.status == ACTIVE and can_match(_record(e)) else None)
            seq = entries[-1].seq
        adds = {}  # type -> {id: value}
        for key, (type_, value) in latest.items():
            if value is not None:
                adds.setdefault(type_, {})[key] = value
        if not len(self.index):
            for type_, found in adds.items():
                self.index.build(type_, list(found), hashes_to_words(list(found.values())))
        else:
            removed = {}
            for key, (type_, value) in latest.items():
                if value is None:
                    removed.setdefault(type_, []).append(key)
            for type_, keys in removed.items():
                self.index.remove_many(keys, type_)
            for type_, found in adds.items():
                self.index.add_many(type_, list(found), list(found.values()))
        self.seq = seq

    def search(self, records, max_distance):
        """takeback.index.RuleIndex.search after bringing the index up to date with the feed."""
        with self.lock:
            self.sync()
            return self.index.search(records, max_distance)


def _record(entry):
    return HashRecord(entry.type, entry.value, entry.quality)


def match(feed_index, queries, max_distance):
    """For each HashRecord query, [(FeedEntry, distance)] of the active entries it matches.

    A perceptual query is looked up in the index of every enrolled type hashing.match.RULES
    pairs it with; `max_distance` replaces the distance of the rows whose query type is
    "pdq" (as in hashing.record_distance); every candidate is confirmed with record_distance.
    """
    candidates = [[] for _ in queries]  # per query: entry ids
    exact = {}
    perceptual = []
    for n, q in enumerate(queries):
        if not q.perceptual:
            exact.setdefault(q.type, []).append(n)
        elif can_match(q):
            perceptual.append(n)
    entries = {}
    for type_, numbers in exact.items():
        found = storage.active_entries_by_value(type_, [queries[n].value for n in numbers])
        for n in numbers:
            entry = found.get(queries[n].value)
            if entry is not None:
                entries[entry.id] = entry
                candidates[n].append(entry.id)
    if perceptual:
        for n, hits in zip(perceptual, feed_index.search([queries[n] for n in perceptual], max_distance)):
            candidates[n].extend(key for key, _ in hits)
        entries.update(storage.active_entries([i for n in perceptual for i in candidates[n]]))
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
