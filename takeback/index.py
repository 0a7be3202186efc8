"""A PDQ index with exact recall: multi-index hashing over 16 chunks of 16 bits, numpy-backed.

Pigeonhole: if two 256-bit hashes differ in at most 31 bits, the 16 disjoint 16-bit chunks
share those differences, so at least one chunk differs in at most 1 bit (16 chunks x 2 bits
would be 32). For each chunk we keep a posting list per 16-bit value (CSR: offsets + row
numbers); a query looks up each of its 16 chunk values and their 16 one-bit neighbours,
checks every candidate's full distance, and so finds every hash within 31 bits, no more.

Used by the server (kept in sync with the feed) and by platforms on their own machines.
Additions after the last build sit in a small unindexed tail that is scanned directly;
removals are tombstones; when either grows the structure is rebuilt.
"""
import numpy as np

CHUNKS = 16
MAX_DISTANCE = 31  # the largest distance the pigeonhole argument above covers
_NEIGHBOURS = np.array([0] + [1 << b for b in range(16)], dtype=np.uint16)  # chunk XOR masks, radius 1
_BATCH = 256  # queries per vectorized step: bounds the candidate arrays' memory
TAIL_LIMIT = 4096  # unindexed additions scanned per query before a rebuild


def hashes_to_words(hexes):
    """An (n, 4) uint64 array from 64-hex-digit PDQ strings (any fixed bit layout works)."""
    if not hexes:
        return np.zeros((0, 4), dtype=np.uint64)
    raw = bytes.fromhex("".join(hexes))
    if len(raw) != 32 * len(hexes):
        raise ValueError("PDQ hashes must be 64 hex digits each")
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, 4)


def _chunks_of(words):
    """(n, 16) uint16 chunks of (n, 4) words."""
    return np.ascontiguousarray(words).view(np.uint16).reshape(-1, CHUNKS)


def _distances(difference):
    """Bit counts of the rows of an (m, 4) uint64 array (columns added: faster than .sum here)."""
    counts = np.bitwise_count(difference)
    return (counts[:, 0].astype(np.int32) + counts[:, 1]) + (counts[:, 2].astype(np.int32) + counts[:, 3])


class PdqIndex:
    """Keys (ints, e.g. feed entry ids) with 256-bit hashes; search returns keys within a distance."""

    def __init__(self):
        self._keys = np.zeros(0, dtype=np.int64)        # per row; rows [0, built) sorted by key
        self._words = np.zeros((0, 4), dtype=np.uint64)
        self._head = np.zeros((0, 2), dtype=np.uint64)      # the first two words of each row again
        self._alive = np.zeros(0, dtype=bool)
        self._built = 0                                 # rows covered by the postings
        self._offsets = np.zeros(CHUNKS * 65536 + 1, dtype=np.int64)
        self._postings = np.zeros(0, dtype=np.int32)    # row numbers grouped by (chunk, value)
        self._tail = {}                                 # key -> row, for rows >= built
        self._dead = 0

    def __len__(self):
        return int(self._alive.sum())

    def __contains__(self, key):
        return self._row(key) is not None

    @property
    def nbytes(self):
        arrays = (self._keys, self._words, self._head, self._alive, self._offsets, self._postings)
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
    def from_hashes(cls, keys, hexes):
        """An index built in one go (distinct keys)."""
        index = cls()
        index._keys = np.array([int(k) for k in keys], dtype=np.int64)
        index._words = hashes_to_words(list(hexes))
        index._alive = np.ones(len(index._keys), dtype=bool)
        if len(np.unique(index._keys)) != len(index._keys):
            raise ValueError("keys must be distinct")
        index.rebuild()
        return index

    def add(self, key, hex_value):
        self.add_many([key], [hex_value])

    def add_many(self, keys, hexes):
        """Add (or replace) hashes; hexes are 64-digit PDQ strings."""
        words = hashes_to_words(list(hexes))
        keys = [int(k) for k in keys]
        if len(self._keys):
            for key in keys:
                self.remove(key)
        start = len(self._keys)
        self._keys = np.concatenate([self._keys, np.array(keys, dtype=np.int64)])
        self._words = np.concatenate([self._words, words])
        self._head = np.concatenate([self._head, words[:, :2]])
        self._alive = np.concatenate([self._alive, np.ones(len(keys), dtype=bool)])
        for i, key in enumerate(keys):
            previous = self._tail.get(key)
            if previous is not None:  # the same key twice in one call: the last one stands
                self._alive[previous] = False
                self._dead += 1
            self._tail[key] = start + i
        self._maybe_rebuild()

    def remove(self, key):
        row = self._row(int(key))
        if row is None:
            return False
        self._alive[row] = False
        self._tail.pop(int(key), None)
        self._dead += 1
        self._maybe_rebuild()
        return True

    def _maybe_rebuild(self):
        # The tail is scanned per query and tombstones waste candidates: rebuild when either
        # is large next to the index (amortized cost stays linear in the number of changes).
        if len(self._tail) > TAIL_LIMIT or self._dead > max(TAIL_LIMIT, self._built // 8):
            self.rebuild()

    def rebuild(self):
        alive = self._alive
        order = np.argsort(self._keys[alive], kind="stable")
        self._keys = self._keys[alive][order]
        self._words = np.ascontiguousarray(self._words[alive][order])
        self._head = np.ascontiguousarray(self._words[:, :2])
        self._alive = np.ones(len(self._keys), dtype=bool)
        self._tail = {}
        self._dead = 0
        n = self._built = len(self._keys)
        chunks = _chunks_of(self._words)
        # Bucket (chunk j, value v) is number j * 65536 + v: postings hold, chunk after chunk,
        # the rows sorted by that chunk's value (a stable sort of uint16 is a radix sort).
        self._postings = np.empty(CHUNKS * n, dtype=np.int32)
        counts = np.empty(CHUNKS * 65536, dtype=np.int64)
        for j in range(CHUNKS):
            self._postings[j * n : (j + 1) * n] = np.argsort(chunks[:, j], kind="stable")
            counts[j * 65536 : (j + 1) * 65536] = np.bincount(chunks[:, j], minlength=65536)
        self._offsets = np.concatenate([[0], np.cumsum(counts)])

    def search(self, hexes, max_distance=MAX_DISTANCE):
        """For each query hash, a list of (key, distance) within max_distance, nearest first."""
        if not 0 <= max_distance <= MAX_DISTANCE:
            raise ValueError("max_distance must be 0..%d" % MAX_DISTANCE)
        queries = hashes_to_words(list(hexes))
        results = []
        for start in range(0, len(queries), _BATCH):
            results.extend(self._search_batch(queries[start : start + _BATCH], max_distance))
        return results

    def _search_batch(self, queries, max_distance):
        q = len(queries)
        found = [self._verify(queries, *self._candidates(queries), max_distance)]
        if self._tail:  # the unindexed tail: every query against every tail row
            tail_rows = np.array(sorted(self._tail.values()), dtype=np.int64)
            found.append(self._verify(queries, np.tile(tail_rows, q), np.full(q, len(tail_rows)), max_distance))
        owners, rows, distances = (np.concatenate(parts) for parts in zip(*found))
        results = [[] for _ in range(q)]
        seen = set()  # a row found through several chunks is one match
        for owner, key, distance in zip(owners.tolist(), self._keys[rows].tolist(), distances.tolist()):
            if (owner, key) not in seen:
                seen.add((owner, key))
                results[owner].append((key, distance))
        for matches in results:
            matches.sort(key=lambda m: (m[1], m[0]))
        return results

    def _verify(self, queries, rows, per_query, max_distance):
        """(query number, row, distance) of the candidate rows within max_distance and alive.

        `rows` are grouped by query, per_query[i] of them for query i, so the queries are
        repeated alongside rather than gathered.
        """
        owners = np.repeat(np.arange(len(queries)), per_query)
        # First the first 128 bits, from a half-size copy of the hashes (more of it stays in
        # cache): a match differs there in at most max_distance bits too, almost nothing else does.
        half = np.take(self._head, rows, axis=0) ^ np.repeat(queries[:, :2], per_query, axis=0)
        counts = np.bitwise_count(half)
        keep = counts[:, 0].astype(np.int32) + counts[:, 1] <= max_distance
        owners, rows = owners[keep], rows[keep]
        distances = _distances(np.take(self._words, rows, axis=0) ^ queries[owners])
        keep = distances <= max_distance
        owners, rows, distances = owners[keep], rows[keep], distances[keep]
        keep = self._alive[rows]
        return owners[keep], rows[keep], distances[keep]

    def _candidates(self, queries):
        """Rows from the postings whose chunk is within one bit of a query's, grouped by query;
        and how many rows each query has."""
        q = len(queries)
        if not self._built or not q:
            return np.zeros(0, dtype=np.int64), np.zeros(q, dtype=np.int64)
        keys = _chunks_of(queries)[:, :, None] ^ _NEIGHBOURS[None, None, :]  # (q, 16, 17)
        buckets = (np.arange(CHUNKS, dtype=np.int64) * 65536)[None, :, None] + keys.astype(np.int64)
        starts = self._offsets[buckets].ravel()
        lengths = self._offsets[buckets + 1].ravel() - starts
        per_query = lengths.reshape(q, -1).sum(axis=1)
        total = int(lengths.sum())
        # positions: for each bucket, starts[b] .. starts[b] + lengths[b] - 1, concatenated
        ends = np.cumsum(lengths)
        positions = np.arange(total) - np.repeat(ends - lengths - starts, lengths)
        return self._postings[positions].astype(np.int64), per_query
