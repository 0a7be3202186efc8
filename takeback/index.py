"""A PDQ index with exact recall: multi-index hashing, numpy-backed.

Pigeonhole: split the 256 bits into m disjoint chunks; if two hashes differ in at most d bits
and every chunk allowed r differing bits, then m * (r + 1) > d means at least one chunk
differs in at most r bits. So a layout of m chunks and radius r covers every distance below
m * (r + 1). For each chunk we keep a posting list per chunk value (CSR: offsets + row
numbers); a query looks up each of its chunk values and every value within r bits of it,
checks every candidate's full distance, and so finds every hash within d bits, no more.

A PdqIndex is made for the largest distance it must answer (PdqIndex(max_distance=d), PDQ's
31 by default) and, at each rebuild, picks among the layouts that cover d by size: the
narrow layout of the smallest radius that covers d, or from WIDE_FROM hashes (WIDE_FROM_LOOSE
when that narrow layout has radius 2) the wide one. Per query: buckets are the posting lists
looked up, candidates the rows checked among n random hashes (true matches and
near-duplicates come on top), latency the median one query per call measured on a shared
2-core machine (bench/index.py; batched queries do about as well or up to 1.5x better):

  layout     chunks            r  covers  buckets  candidates  offsets  used for          latency
  NARROW     16 of 16 bits     1  <= 31      272   n / 241       4 MB   d <= 31, < 2M     1M: 0.2 ms
  WIDE       11 of 23-24 bits  2  <= 32    3,119   n / 3,100   470 MB   d <= 31, >= 2M    5M: 0.2 ms
  NARROW_R2  16 of 16 bits     2  <= 47    2,192   n / 30        4 MB   d 32..43, < 1M    250k: 0.5 ms
  WIDE_R3    11 of 23-24 bits  3  <= 43   23,359   n / 420     470 MB   d 33..43, >= 1M   1M: 1.0, 5M: 1.1 ms

(WIDE at 10M: ~3,200 candidates instead of NARROW's ~41,000; at d = 32 exactly the wide
layout is WIDE.) So PDQ's indexes (31 bits) keep the cheap layouts, and the radius + 1
layouts serve only the types whose rules need more (pdq-window at 40), up to MAX_DISTANCE =
43: a query there costs ~5x (WIDE_R3's 23,359 buckets; NARROW_R2's 8x candidates, which is
why it goes wide from 1M). Beyond 43 only NARROW_R2 would be left (n / 30 candidates at any
size), so that is refused. The probe tables (per probe: which chunk, which XOR mask) are
built at first use, once per layout: WIDE_R3's 23,359 rows take 0.6 MB and ~0.03 s.

Used by the server (kept in sync with the feed) and by platforms on their own machines,
through RuleIndex: one PdqIndex per enrolled perceptual type of hashing.match.RULES, made for
the largest distance of that type's rules. Additions after the last build sit in a small
unindexed tail that is scanned directly; removals are tombstones; when either grows the
structure is rebuilt. A server whose processes share one built index (takeback/shared.py)
maps its arrays read-only (PdqIndex.from_arrays) and keeps each process's later changes in
a DeltaIndex on top.
"""
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from hashing import HashRecord

PDQ_DISTANCE = 31  # PDQ's distance: PdqIndex's default, and the most a caller's max_distance may ask of a query PDQ
WIDE_FROM = 2_000_000  # rebuilds with at least this many hashes use WIDE (distances up to 31)
WIDE_FROM_LOOSE = 1_000_000  # ... and for distances 32..43 WIDE_R3 (WIDE at 32) instead of NARROW_R2


class Layout:
    """Chunk widths (bits, adding up to 256) and the radius r looked up around each chunk.

    It covers every distance up to `covers` = chunks * (r + 1) - 1 (pigeonhole)."""

    def __init__(self, name: str, widths: Sequence[int], radius: int):
        if sum(widths) != 256 or not 0 <= radius <= 8:
            raise ValueError("a layout's chunks must cover 256 bits, with a radius of 0..8")
        self.name, self.widths, self.radius = name, tuple(widths), radius
        self.covers = len(self.widths) * (radius + 1) - 1
        self.starts = tuple(itertools.accumulate((0,) + self.widths[:-1]))
        self.bases = tuple(itertools.accumulate((0,) + tuple(1 << w for w in self.widths[:-1])))
        self.buckets = sum(1 << w for w in self.widths)
        within = [sum(math.comb(w, r) for r in range(radius + 1)) for w in self.widths]  # values per chunk
        self.probe_count = sum(within)  # buckets looked up per query
        self.candidate_rate = sum(v / (1 << w) for v, w in zip(within, self.widths))  # per random hash
        self._probes: tuple | None = None

    @property
    def probes(self) -> tuple:
        """(chunk, XOR mask, bucket base) per probe: every value within `radius` bits of each
        chunk. Built at first use and kept (WIDE_R3: 23,359 probes, 0.6 MB, ~0.03 s)."""
        if self._probes is None:
            masks = {}  # per chunk width: every mask of at most `radius` bits
            for w in set(self.widths):
                masks[w] = np.array([sum(1 << b for b in bits) for r in range(self.radius + 1)
                                     for bits in itertools.combinations(range(w), r)], dtype=np.int64)
            chunk = np.concatenate([np.full(len(masks[w]), j, dtype=np.intp) for j, w in enumerate(self.widths)])
            mask = np.concatenate([masks[w] for w in self.widths])
            base = np.array(self.bases, dtype=np.int64)[chunk]
            self._probes = (chunk, mask, base)  # one assignment: a concurrent first use builds the same
        return self._probes

    def chunk(self, words: np.ndarray, j: int) -> np.ndarray:
        """Chunk j of every row of an (n, 4) uint64 array, as int64 (bits in hex-digit order)."""
        start, width = self.starts[j], self.widths[j]
        word, offset = divmod(start, 64)
        if offset + width <= 64:
            value = words[:, word] >> np.uint64(64 - offset - width)
        else:
            low = offset + width - 64  # bits taken from the next word
            value = (words[:, word] << np.uint64(low)) | (words[:, word + 1] >> np.uint64(64 - low))
        return (value & np.uint64((1 << width) - 1)).astype(np.int64)

    def chunks(self, words: np.ndarray) -> np.ndarray:
        """(n, m) int64 chunk values."""
        if len(words) <= 64:  # a few queries: Python integers beat a dozen numpy calls each
            shifts = [(256 - s - w, (1 << w) - 1) for s, w in zip(self.starts, self.widths)]
            values = [int.from_bytes(row.astype(">u8").tobytes(), "big") for row in words]
            return np.array([[(v >> shift) & mask for shift, mask in shifts] for v in values],
                            dtype=np.int64).reshape(len(words), len(self.widths))
        return np.stack([self.chunk(words, j) for j in range(len(self.widths))], axis=1)

    def __repr__(self):
        return "Layout(%s)" % self.name


_NARROW_WIDTHS, _WIDE_WIDTHS = [16] * 16, [24] * 3 + [23] * 8
NARROW = Layout("narrow: 16 chunks of 16 bits, radius 1", _NARROW_WIDTHS, 1)     # covers 31
WIDE = Layout("wide: 11 chunks of 23-24 bits, radius 2", _WIDE_WIDTHS, 2)       # covers 32
NARROW_R2 = Layout("narrow: 16 chunks of 16 bits, radius 2", _NARROW_WIDTHS, 2)  # covers 47
WIDE_R3 = Layout("wide: 11 chunks of 23-24 bits, radius 3", _WIDE_WIDTHS, 3)    # covers 43
_NARROWS, _WIDES = (NARROW, NARROW_R2), (WIDE, WIDE_R3)  # each by radius
# The largest distance served at every size: a wide layout covers it (43, WIDE_R3).
MAX_DISTANCE = max(layout.covers for layout in _WIDES)


def choose_layout(n: int, max_distance: int) -> Layout:
    """The layout a rebuild of n hashes uses to answer distances up to max_distance: the
    narrow or wide layout of the smallest radius that covers it, wide from WIDE_FROM (or
    WIDE_FROM_LOOSE when the narrow one needs radius 2) hashes."""
    if not 0 <= max_distance <= MAX_DISTANCE:
        raise ValueError("max_distance must be 0..%d" % MAX_DISTANCE)
    narrow = next(layout for layout in _NARROWS if layout.covers >= max_distance)
    wide = next(layout for layout in _WIDES if layout.covers >= max_distance)
    return wide if n >= (WIDE_FROM if narrow is NARROW else WIDE_FROM_LOOSE) else narrow


_BATCH = 64  # at most this many queries per vectorized step
_STEP_WORK = 1 << 15  # about this many buckets + candidates per step: the arrays stay in cache
TAIL_LIMIT = 4096  # unindexed additions scanned per query before a rebuild


def _argsort_small(values, width):
    """A stable argsort of non-negative ints below 2**width (<= 32): LSD radix sort in 16-bit
    passes (numpy's stable sort of uint16 is a radix sort; of int64 a much slower merge sort)."""
    order = np.argsort((values & 0xFFFF).astype(np.uint16), kind="stable")
    if width > 16:
        high = (values[order] >> 16).astype(np.uint16)
        order = order[np.argsort(high, kind="stable")]
    return order


def hashes_to_words(hexes: Sequence[str]) -> np.ndarray:
    """An (n, 4) uint64 array from 64-hex-digit PDQ strings (any fixed bit layout works)."""
    if not hexes:
        return np.zeros((0, 4), dtype=np.uint64)
    raw = bytes.fromhex("".join(hexes))
    if len(raw) != 32 * len(hexes):
        raise ValueError("PDQ hashes must be 64 hex digits each")
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, 4)


def _distances(difference):
    """Bit counts of the rows of an (m, 4) uint64 array (columns added: faster than .sum here)."""
    counts = np.bitwise_count(difference)
    return (counts[:, 0].astype(np.int32) + counts[:, 1]) + (counts[:, 2].astype(np.int32) + counts[:, 3])


class PdqIndex:
    """Keys (ints, e.g. feed entry ids) with 256-bit hashes; search returns keys within a distance.

    Memory per hash: 32 bytes of hash, 8 of key, 1 of liveness and 4 per chunk of postings
    (narrow: 105 bytes, wide: 85), plus the offsets table (narrow 4 MB, wide 470 MB): 10
    million hashes take about 1.32 GB, whatever the radius. `max_distance` is the largest
    distance searches may ask (0..MAX_DISTANCE; PDQ's 31 by default): each rebuild picks the
    layout by it and by size (choose_layout). `layout` fixes the layout instead (it must
    cover max_distance).
    """

    def __init__(self, layout: Layout | None = None, max_distance: int = PDQ_DISTANCE):
        if not 0 <= max_distance <= MAX_DISTANCE:
            raise ValueError("PdqIndex: max_distance must be 0..%d (takeback.index.MAX_DISTANCE), got %r"
                             % (MAX_DISTANCE, max_distance))
        if layout is not None and layout.covers < max_distance:
            raise ValueError("PdqIndex: the layout %r finds matches only up to %d bits, not %d"
                             % (layout.name, layout.covers, max_distance))
        self.max_distance = max_distance
        self.fixed_layout = layout
        self.layout = layout or choose_layout(0, max_distance)
        self._keys = np.zeros(0, dtype=np.int64)        # per row; rows [0, built) sorted by key
        self._words = np.zeros((0, 4), dtype=np.uint64)
        self._alive = np.zeros(0, dtype=bool)
        self._built = 0                                 # rows covered by the postings
        self._offsets = np.zeros(self.layout.buckets + 1, dtype=np.int32)
        self._postings = np.zeros(0, dtype=np.int32)    # row numbers grouped by (chunk, value)
        self._tail: dict[int, int] = {}                 # key -> row, for rows >= built
        self._dead = 0

    def __len__(self) -> int:
        return int(self._alive.sum())

    def __contains__(self, key: int) -> bool:
        return self._row(key) is not None

    @property
    def nbytes(self) -> int:
        """Bytes of every array the index holds (the tail dictionary aside: at most TAIL_LIMIT keys)."""
        arrays = (self._keys, self._words, self._alive, self._offsets, self._postings)
        return sum(a.nbytes for a in arrays)

    def _row(self, key):
        row = self._tail.get(key)
        if row is not None:
            return row
        i = int(np.searchsorted(self._keys[: self._built], key))
        if i < self._built and self._keys[i] == key and self._alive[i]:
            return i
        return None

    @classmethod
    def from_hashes(cls, keys: Iterable[int], hexes: Iterable[str], layout: Layout | None = None,
                    max_distance: int = PDQ_DISTANCE) -> "PdqIndex":
        """An index built in one go (distinct keys) from 64-hex-digit PDQ strings."""
        return cls.from_words(np.array([int(k) for k in keys], dtype=np.int64), hashes_to_words(list(hexes)), layout,
                              max_distance)

    @classmethod
    def from_words(cls, keys: "Sequence[int] | np.ndarray", words: np.ndarray, layout: Layout | None = None,
                   max_distance: int = PDQ_DISTANCE) -> "PdqIndex":
        """An index built in one go from distinct int keys and an (n, 4) uint64 array (hashes_to_words)."""
        keys = np.asarray(keys, dtype=np.int64)
        words = np.asarray(words, dtype=np.uint64).reshape(-1, 4)
        if len(keys) != len(words):
            raise ValueError("one key per hash")
        index = cls(layout, max_distance)
        order = np.argsort(keys, kind="stable")
        index._keys = keys[order]
        if len(keys) > 1 and bool((index._keys[1:] == index._keys[:-1]).any()):
            raise ValueError("keys must be distinct")
        index._words = np.ascontiguousarray(words[order])
        index._alive = np.ones(len(keys), dtype=bool)
        index.rebuild()
        return index

    @classmethod
    def from_arrays(cls, layout: Layout, max_distance: int, keys: np.ndarray, words: np.ndarray,
                    offsets: np.ndarray, postings: np.ndarray, fixed: bool = False) -> "PdqIndex":
        """An index over the arrays of a built one (arrays(); e.g. read-only views of a shared
        file, takeback.shared). Only its liveness is its own: withdraw() is the one change it takes."""
        index = cls(layout if fixed else None, max_distance)
        index.layout = layout
        index._keys, index._words, index._offsets, index._postings = keys, words, offsets, postings
        index._alive = np.ones(len(keys), dtype=bool)
        index._built = len(keys)
        return index

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays from_arrays() takes, of this index rebuilt if it has a tail or tombstones."""
        if self._tail or self._dead:
            self.rebuild()
        return {"keys": self._keys, "words": self._words, "offsets": self._offsets, "postings": self._postings}

    def withdraw(self, keys: Iterable[int]) -> int:
        """Remove keys without ever rebuilding (liveness only: the other arrays may be read-only)."""
        return sum(self._remove(int(k)) for k in keys)

    def add(self, key: int, hex_value: str) -> None:
        self.add_many([key], [hex_value])

    def add_many(self, keys: Sequence[int], hexes: Sequence[str]) -> None:
        """Add (or replace) hashes; hexes are 64-digit PDQ strings."""
        words = hashes_to_words(list(hexes))
        keys = [int(k) for k in keys]
        if len(self._keys):
            for key in keys:
                self._remove(key)
        start = len(self._keys)
        self._keys = np.concatenate([self._keys, np.array(keys, dtype=np.int64)])
        self._words = np.concatenate([self._words, words])
        self._alive = np.concatenate([self._alive, np.ones(len(keys), dtype=bool)])
        for i, key in enumerate(keys):
            previous = self._tail.get(key)
            if previous is not None:  # the same key twice in one call: the last one stands
                self._alive[previous] = False
                self._dead += 1
            self._tail[key] = start + i
        self._maybe_rebuild()

    def remove(self, key: int) -> bool:
        """Remove a key; False if it was not there."""
        removed = self._remove(int(key))
        self._maybe_rebuild()
        return removed

    def remove_many(self, keys: Iterable[int]) -> int:
        """Remove keys (absent ones are ignored); how many were there."""
        removed = sum(self._remove(int(k)) for k in keys)
        self._maybe_rebuild()
        return removed

    def _remove(self, key):
        row = self._row(key)
        if row is None:
            return False
        self._alive[row] = False
        self._tail.pop(key, None)
        self._dead += 1
        return True

    def _maybe_rebuild(self):
        # The tail is scanned per query and tombstones waste candidates: rebuild when either
        # is large next to the index (amortized cost stays linear in the number of changes).
        if len(self._tail) > TAIL_LIMIT or self._dead > max(TAIL_LIMIT, self._built // 8):
            self.rebuild()

    def rebuild(self) -> None:
        if not self._alive.all():
            self._keys, self._words = self._keys[self._alive], self._words[self._alive]
        order = np.argsort(self._keys, kind="stable")
        if not bool((order[1:] > order[:-1]).all()):
            self._keys = self._keys[order]
            self._words = np.ascontiguousarray(self._words[order])
        self._alive = np.ones(len(self._keys), dtype=bool)
        self._tail = {}
        self._dead = 0
        n = self._built = len(self._keys)
        if n >= 2**31:
            raise ValueError("at most 2**31 - 1 hashes")
        layout = self.layout = self.fixed_layout or choose_layout(n, self.max_distance)
        # Bucket (chunk j, value v) is number bases[j] + v: postings hold, chunk after chunk,
        # the rows sorted by that chunk's value.
        self._postings = np.empty(len(layout.widths) * n, dtype=np.int32)
        self._offsets = np.zeros(layout.buckets + 1, dtype=np.int32)
        for j, width in enumerate(layout.widths):
            column = layout.chunk(self._words, j)
            self._postings[j * n : (j + 1) * n] = _argsort_small(column, width)
            base = layout.bases[j]
            np.cumsum(np.bincount(column, minlength=1 << width), out=self._offsets[base + 1 : base + 1 + (1 << width)])
            self._offsets[base + 1 : base + 1 + (1 << width)] += j * n

    def search(self, hexes: Iterable[str], max_distance: int | None = None) -> list[list[tuple[int, int]]]:
        """For each query hash (64 hex digits), a list of (key, distance) within max_distance
        (at most, and by default, the distance the index was made for), nearest first."""
        return self.search_words(hashes_to_words(list(hexes)), max_distance)

    def search_words(self, queries: np.ndarray, max_distance: int | None = None) -> list[list[tuple[int, int]]]:
        """search() for an (q, 4) uint64 array of query hashes."""
        if max_distance is None:
            max_distance = self.max_distance
        if not 0 <= max_distance <= self.max_distance:
            raise ValueError("max_distance must be 0..%d: this index was made for distances up to %d bits "
                             "(PdqIndex(max_distance=...), at most takeback.index.MAX_DISTANCE = %d)"
                             % (self.max_distance, self.max_distance, MAX_DISTANCE))
        queries = np.ascontiguousarray(queries, dtype=np.uint64).reshape(-1, 4)
        # Queries per step by the work each brings (buckets + expected candidates): big steps
        # spill the per-bucket arrays out of the caches (NARROW at 1M: 7 queries a step; WIDE_R3: 1).
        work = self.layout.probe_count + self.layout.candidate_rate * self._built
        step = int(min(_BATCH, max(1, _STEP_WORK // work)))
        results: list[list[tuple[int, int]]] = []
        for start in range(0, len(queries), step):
            results.extend(self._search_batch(queries[start : start + step], max_distance))
        return results

    def _search_batch(self, queries, max_distance):
        q = len(queries)
        found = [self._verify(queries, *self._candidates(queries), max_distance)]
        if self._tail:  # the unindexed tail: every query against every tail row
            tail_rows = np.array(sorted(self._tail.values()), dtype=np.int64)
            found.append(self._verify(queries, np.tile(tail_rows, q), np.full(q, len(tail_rows)), max_distance))
        owners, rows, distances = (np.concatenate(parts) for parts in zip(*found))
        results: list[list[tuple[int, int]]] = [[] for _ in range(q)]
        if not len(rows):
            return results
        # A row found through several chunks is one match: keep one (owner, row) pair each.
        pair = owners.astype(np.int64) * (len(self._keys) + 1) + rows
        _, first = np.unique(pair, return_index=True)
        for owner, key, distance in zip(owners[first].tolist(), self._keys[rows[first]].tolist(),
                                        distances[first].tolist()):
            results[owner].append((key, distance))
        for matches in results:
            matches.sort(key=lambda m: (m[1], m[0]))
        return results

    def _verify(self, queries, rows, per_query, max_distance):
        """(query number, row, distance) of the candidate rows within max_distance and alive.

        `rows` are grouped by query, per_query[i] of them for query i.
        """
        if len(queries) == 1:  # the common case of an upload pipeline: no repeat of the query
            distances = _distances(np.take(self._words, rows, axis=0) ^ queries[0])
            owners = np.zeros(len(rows), dtype=np.int64)
        else:
            owners = np.repeat(np.arange(len(queries)), per_query)
            distances = _distances(np.take(self._words, rows, axis=0) ^ np.take(queries, owners, axis=0))
        keep = distances <= max_distance
        owners, rows, distances = owners[keep], rows[keep], distances[keep]
        keep = self._alive[rows]
        return owners[keep], rows[keep], distances[keep]

    def _candidates(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows from the postings whose chunk is within the layout's radius of a query's, grouped
        by query; and how many rows each query has."""
        q = len(queries)
        if not self._built or not q:
            return np.zeros(0, dtype=np.int64), np.zeros(q, dtype=np.int64)
        layout = self.layout
        probe_chunk, probe_mask, probe_base = layout.probes
        buckets = layout.chunks(queries)[:, probe_chunk] ^ probe_mask
        buckets += probe_base  # (q, probes)
        buckets = buckets.ravel()
        starts = self._offsets[buckets].astype(np.int64)
        lengths = self._offsets[buckets + 1] - starts
        per_query = lengths.reshape(q, -1).sum(axis=1)
        # positions: for each bucket, starts[b] .. starts[b] + lengths[b] - 1, concatenated
        ends = np.cumsum(lengths)
        shift = starts - (ends - lengths)
        positions = np.repeat(shift, lengths)
        positions += np.arange(len(positions))
        return self._postings[positions], per_query



class DeltaIndex:
    """A built PdqIndex that is never changed (its arrays shared by processes, takeback.shared)
    and the changes since: keys added or removed since are withdrawn from it, and the added ones
    kept in a small PdqIndex of their own. Searches find the same as one PdqIndex with every
    change applied (both exact), in the same order."""

    def __init__(self, base: PdqIndex):
        self.base = base
        self.delta = PdqIndex(base.fixed_layout, base.max_distance)
        self.withdrawn = 0  # keys of base withdrawn

    @property
    def changes(self) -> int:
        """Hashes this process holds on top of the shared index (withdrawn ones and added ones)."""
        return self.withdrawn + len(self.delta)

    def __len__(self) -> int:
        return len(self.base) + len(self.delta)

    def __contains__(self, key: int) -> bool:
        return key in self.delta or key in self.base

    @property
    def nbytes(self) -> int:
        return self.base.nbytes + self.delta.nbytes

    def add_many(self, keys: Sequence[int], hexes: Sequence[str]) -> None:
        self.withdrawn += self.base.withdraw(keys)
        self.delta.add_many(keys, hexes)

    def remove_many(self, keys: Iterable[int]) -> int:
        keys = list(keys)
        removed = self.base.withdraw(keys)
        self.withdrawn += removed
        return removed + self.delta.remove_many(keys)

    def search(self, hexes: Iterable[str], max_distance: int | None = None) -> list[list[tuple[int, int]]]:
        hexes = list(hexes)
        found = self.base.search(hexes, max_distance)
        if len(self.delta):
            for hits, more in zip(found, self.delta.search(hexes, max_distance)):
                if more:
                    hits.extend(more)
                    hits.sort(key=lambda m: (m[1], m[0]))
        return found


class RuleIndex:
    """One PdqIndex per enrolled perceptual hash type of the match rules (hashing.match.RULES).

    The rules say which enrolled type a query type may match, and within how many bits (e.g.
    ("pdq", "pdq") at PDQ's 31, ("pdq-window", "pdq-window") at the windows' own distance,
    hashing.match.WINDOW_MATCH_DISTANCE). A query hash is looked up in the index of every enrolled type
    its type is paired with, at that row's distance; `max_distance`, when given, replaces the
    distance of the rows whose query type is "pdq", exactly as hashing.record_distance does.
    The index only proposes candidates; callers confirm each with record_distance.

    Each enrolled type's PdqIndex is made for the largest distance of its rules (`distances`),
    and at least PDQ's 31 (no dearer: the smallest layouts cover 31), so PDQ's indexes keep the
    cheap layouts and only a type with a looser rule (windows and blocks at 40) gets the radius + 1 ones.
    `max_override` is the most a caller's max_distance may ask: the smallest distance an index
    of a rule with query type "pdq" was made for (31 with PDQ at 31).

    Keys are unique across types (feed entry ids). The rules are read when the index is made:
    a rule this index cannot serve (a distance beyond MAX_DISTANCE, or a hash that is not 256
    bits) is an error here, never a match silently missed later.
    """

    def __init__(self, rules: Mapping[tuple[str, str], int] | None = None, layout: Layout | None = None):
        from hashing import SIGNAL_TYPES
        from hashing import match as match_rule

        rules = dict(match_rule.RULES if rules is None else rules)
        for (enrolled, query), limit in rules.items():
            signals = [SIGNAL_TYPES.get(enrolled), SIGNAL_TYPES.get(query)]
            if not all(s is not None and s.perceptual and s.bits == 256 for s in signals):
                raise ValueError("match rule (%r, %r): the index holds 256-bit perceptual hashes only"
                                 % (enrolled, query))
            if not 0 <= limit <= MAX_DISTANCE:
                raise ValueError(
                    "match rule (%r, %r) allows %d bits, but takeback.index.PdqIndex finds matches only up to "
                    "MAX_DISTANCE = %d bits: widen the index's layouts before raising a rule's distance"
                    % (enrolled, query, limit, MAX_DISTANCE))
        self.rules = rules
        self.layout = layout
        self.distances: dict[str, int] = {}  # enrolled type -> the largest distance its index answers
        for (enrolled, _), limit in rules.items():
            self.distances[enrolled] = max(self.distances.get(enrolled, PDQ_DISTANCE), limit)
        # max_distance replaces the distance of the rows whose query type is "pdq"
        self.max_override = min([self.distances[e] for e, q in rules if q == "pdq"] or [PDQ_DISTANCE])
        self.indexes: dict[str, PdqIndex | DeltaIndex] = {t: PdqIndex(layout, d) for t, d in self.distances.items()}

    @property
    def types(self) -> tuple[str, ...]:
        """The enrolled hash types indexed, in the rules' order."""
        return tuple(self.indexes)

    def __len__(self) -> int:
        return sum(len(index) for index in self.indexes.values())

    def __contains__(self, key: int) -> bool:
        return any(key in index for index in self.indexes.values())

    def __getitem__(self, type_: str) -> "PdqIndex | DeltaIndex":
        return self.indexes[type_]

    @property
    def nbytes(self) -> int:
        return sum(index.nbytes for index in self.indexes.values())

    def lookups(self, query_type: str, max_distance: int | None = None) -> list[tuple[str, int]]:
        """[(enrolled type, distance)]: where a query hash of this type is looked up, and within how many bits."""
        if max_distance is not None and not 0 <= max_distance <= self.max_override:
            raise ValueError("max_distance must be 0..%d (the distance the indexes of a query PDQ's rules "
                             "were made for)" % self.max_override)
        return [(e, max_distance if max_distance is not None and q == "pdq" else limit)
                for (e, q), limit in self.rules.items() if q == query_type]

    def build(self, type_: str, keys: "Sequence[int] | np.ndarray", words: np.ndarray) -> None:
        """Replace the index of one enrolled type, built in one go (PdqIndex.from_words)."""
        self.indexes[type_] = PdqIndex.from_words(keys, words, self.layout, self.distances[type_])

    def add_many(self, type_: str, keys: Sequence[int], hexes: Sequence[str]) -> None:
        """Add (or replace) hashes of one enrolled type."""
        self.indexes[type_].add_many(keys, hexes)

    def remove_many(self, keys: Iterable[int], type_: str | None = None) -> int:
        """Remove keys (from the index of `type_`, or from every index); how many were there."""
        keys = list(keys)
        indexes = self.indexes.values() if type_ is None else [self.indexes[type_]]
        return sum(index.remove_many(keys) for index in indexes)

    def search(self, records: Iterable[HashRecord], max_distance: int | None = None) -> list[list[tuple[int, int]]]:
        """For each query (anything with .type and .value: a HashRecord), [(key, distance)] nearest first.

        Weak hashes are the caller's to leave out (hashing.can_match). A query type no rule
        pairs with an indexed type finds nothing.
        """
        records = list(records)
        groups: dict[tuple[str, int], list[int]] = {}  # (enrolled type, distance) -> query numbers: one batched search each
        for n, r in enumerate(records):
            for lookup in self.lookups(r.type, max_distance):
                groups.setdefault(lookup, []).append(n)
        results: list[list[tuple[int, int]]] = [[] for _ in records]
        for (type_, limit), numbers in groups.items():
            for n, hits in zip(numbers, self.indexes[type_].search([records[n].value for n in numbers], limit)):
                results[n].extend(hits)
        for hits in results:
            hits.sort(key=lambda h: (h[1], h[0]))
        return results
