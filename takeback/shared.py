"""One match index for every server process: a file they all map, plus each one's recent changes.

A FeedMatcher per process holds the whole RuleIndex in its own memory (at a million photos,
~64 million hashes: several GB each). A SharedFeedMatcher keeps the index's built arrays (per
enrolled type: keys, hashes, the multi-index offsets and postings; takeback/index.py) in one
file in a directory, stamped with the feed sequence it covers. Every process maps that file
read-only, so the operating system keeps one copy in its page cache for all of them; each
process applies the feed changes after the stamp in a small in-memory delta (DeltaIndex: keys
added or withdrawn since, the added ones in a PdqIndex of their own) and answers from both,
exactly as one index with every change applied would.

- The first process that needs the file and finds none (or an unreadable one) builds it from
  the source's snapshot, under an exclusive lock on a lock file next to it, writes it to a
  temporary name, syncs it and renames it into place: concurrent starts produce one file, and
  a reader never sees a partial one. The others wait for the lock, then map what it wrote.
- The file starts with a header: a magic string, its length, a SHA-256 of the header and,
  in the header, the file's size and every array's offset, type and shape. A file whose
  header does not check out or whose size differs (truncated, half copied) is rebuilt.
- When a process holds more than `rebuild_after` changed hashes, it rebuilds the file from a
  fresh snapshot if no other process is doing so (a non-blocking lock); every process sees
  the new file (another inode) at its next sync, maps it and starts a new delta from its stamp.
- The file's name carries a fingerprint of the format, the rules' distances and the feed (the
  server: its database URL, the password masked): processes with other rules (a deploy under
  way) or on another database use a file of their own.

A file is only ever replaced whole (renamed over): one changed in place under processes that
map it can crash them (SIGBUS). A database restored under the same URL needs its index files
deleted (they would answer from the old entries' hashes: still confirmed against the database,
so never a wrong match, but missing entries). Local file systems only (flock).
"""
import fcntl
import glob
import hashlib
import json
import mmap
import os
import struct
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from .index import NARROW, NARROW_R2, WIDE, WIDE_R3, DeltaIndex, Layout, PdqIndex
from .matching import FeedMatcher, FeedSource

FORMAT = 1
MAGIC = b"TKBINDEX"
_PREFIX = struct.Struct("<8sQ32s")  # magic, header length, SHA-256 of the header
_ALIGN = 4096  # arrays start on page boundaries
HEADER_SPACE = 64 * 1024  # bytes before the first array: the prefix and the header (~2 KB) fit
REBUILD_AFTER = 1_000_000  # hashes changed since the file was built, per process, before a rebuild
_ARRAYS = ("keys", "words", "offsets", "postings")


def _layout(widths: list[int], radius: int) -> Layout:
    for layout in (NARROW, WIDE, NARROW_R2, WIDE_R3):  # the module's own: their probe tables are cached
        if list(layout.widths) == widths and layout.radius == radius:
            return layout
    return Layout("from the shared index: %d chunks, radius %d" % (len(widths), radius), widths, radius)


def write_index(path: str, seq: int, indexes: Iterable[tuple[str, PdqIndex]]) -> None:
    """Write built PdqIndexes ((enrolled type, index) pairs, taken one at a time so a caller may
    build each just before) to `path` atomically: a temporary file, synced, renamed."""
    header: dict[str, Any] = {"format": FORMAT, "seq": seq, "start": HEADER_SPACE, "indexes": {}}
    temporary = "%s.%d.%d.tmp" % (path, os.getpid(), threading.get_ident())
    try:
        with open(temporary, "wb") as f:
            offset = 0  # from header["start"]
            for type_, pdq in indexes:
                if not len(pdq):  # an empty type stays out: readers make an empty index of their own
                    continue
                entry: dict[str, Any] = {"max_distance": pdq.max_distance, "widths": list(pdq.layout.widths),
                                         "radius": pdq.layout.radius, "arrays": {}}
                for name, array in pdq.arrays().items():
                    array = np.ascontiguousarray(array)
                    entry["arrays"][name] = [offset, array.dtype.str, list(array.shape)]
                    f.seek(HEADER_SPACE + offset)
                    if array.size:  # (memoryview cannot cast an empty one)
                        f.write(array.data.cast("B"))
                    offset += -(-array.nbytes // _ALIGN) * _ALIGN
                header["indexes"][type_] = entry
            header["size"] = HEADER_SPACE + offset
            text = json.dumps(header, sort_keys=True).encode()
            if _PREFIX.size + len(text) > HEADER_SPACE:
                raise ValueError("the shared index's header outgrew its %d bytes" % HEADER_SPACE)
            f.truncate(header["size"])
            f.seek(0)
            f.write(_PREFIX.pack(MAGIC, len(text), hashlib.sha256(text).digest()) + text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    directory = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)


class SharedFile:
    """A checked index file, mapped read-only: .seq, .ident (device, inode), .indexes {type: PdqIndex}."""

    def __init__(self, seq: int, ident: tuple[int, int], indexes: dict[str, PdqIndex]):
        self.seq, self.ident, self.indexes = seq, ident, indexes


def read_index(path: str, fixed: Layout | None = None) -> SharedFile | None:
    """The index file at `path`, or None if it is missing, of another format, or damaged."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return None
    with f:
        status = os.fstat(f.fileno())
        prefix = f.read(_PREFIX.size)
        if len(prefix) != _PREFIX.size:
            return None
        magic, length, digest = _PREFIX.unpack(prefix)
        if magic != MAGIC or length > status.st_size:
            return None
        text = f.read(length)
        if len(text) != length or hashlib.sha256(text).digest() != digest:
            return None
        try:
            header = json.loads(text)
            if header.get("format") != FORMAT or header["size"] != status.st_size:
                return None
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            indexes = {}
            for type_, entry in header["indexes"].items():
                arrays = {}
                for name in _ARRAYS:
                    at, dtype, shape = entry["arrays"][name]
                    arrays[name] = np.frombuffer(mapped, dtype=np.dtype(dtype), count=int(np.prod(shape)),
                                                 offset=header["start"] + at).reshape(shape)
                layout = _layout(entry["widths"], entry["radius"])
                indexes[type_] = PdqIndex.from_arrays(layout, entry["max_distance"], fixed=fixed is not None,
                                                      **arrays)
        except (ValueError, KeyError, TypeError):  # a header that checks out but does not fit the file
            return None
    return SharedFile(header["seq"], (status.st_dev, status.st_ino), indexes)


class _Locked:
    """An exclusive flock on `path` (made if missing); blocking or not (then .held says)."""

    def __init__(self, path: str, blocking: bool = True):
        self.path, self.blocking, self.held = path, blocking, False

    def __enter__(self) -> "_Locked":
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | (0 if self.blocking else fcntl.LOCK_NB))
            self.held = True
        except BlockingIOError:
            pass
        return self

    def __exit__(self, *_: object) -> None:
        os.close(self.fd)  # releases the lock


class SharedFeedMatcher(FeedMatcher):
    """A FeedMatcher whose index is built once into `directory` and mapped by every process
    that uses the same directory, each adding the feed's later changes in memory (module doc).

    .builds counts the files this matcher wrote (the tests check that a second process does not)."""

    def __init__(self, source: FeedSource, directory: str, rules: Any = None,
                 rebuild_after: int = REBUILD_AFTER, feed: str = ""):
        super().__init__(source, rules)
        # Other rules (a deploy under way) or another feed (`feed`: which database) use another file.
        key = json.dumps([FORMAT, sorted(self.index.distances.items()), feed]).encode()
        fingerprint = hashlib.sha256(key).hexdigest()[:16]
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, "feed-index-%s.bin" % fingerprint)
        self.rebuild_after = rebuild_after
        self.file: SharedFile | None = None
        self.builds = 0

    def sync(self) -> int:
        with self._lock:
            if self.file is None or self._replaced(self.file):
                self._use(self._open_or_build())
            changed = self._catch_up()
            mapped = self.file
            if self.changes <= self.rebuild_after:
                return changed
        # Rebuild with the delta's changes in, unless another process or thread is at it. This
        # thread waits for it; the others go on answering from the file they have and their deltas.
        with _Locked(self.path + ".lock", blocking=False) as lock:
            if lock.held and not self._replaced(mapped):
                self._build()
        with self._lock:
            if self._replaced(self.file):
                self._use(self._open_or_build())
                changed += self._catch_up()
        return changed

    @property
    def changes(self) -> int:
        """Hashes this process holds in memory on top of the file (added or withdrawn since)."""
        return sum(i.changes for i in self.index.indexes.values() if isinstance(i, DeltaIndex))

    def _replaced(self, mapped: SharedFile | None) -> bool:
        """Whether the file at self.path is gone or another than `mapped` (rebuilt since)."""
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            return True
        return mapped is None or (status.st_dev, status.st_ino) != mapped.ident

    def _open_or_build(self) -> SharedFile:
        shared = read_index(self.path, self.index.layout)
        if shared is None:
            with _Locked(self.path + ".lock"):
                shared = read_index(self.path, self.index.layout)  # another process may have built it meanwhile
                if shared is None:
                    self._build()
                    shared = read_index(self.path, self.index.layout)
        if shared is None:
            raise RuntimeError("the shared index %s could not be read back after writing it" % self.path)
        return shared

    def _build(self) -> None:
        """Write a new file from the source's snapshot, one enrolled type's index at a time (under the lock)."""
        rules = self.index
        seq, snapshot = self.source.snapshot(rules.types)

        def built() -> Iterator[tuple[str, PdqIndex]]:
            for type_ in rules.types:
                if type_ in snapshot:
                    ids, words = snapshot.pop(type_)  # freed once written
                    yield type_, PdqIndex.from_words(ids, words, rules.layout, rules.distances[type_])
                else:
                    yield type_, PdqIndex(rules.layout, rules.distances[type_])

        for left in glob.glob(glob.escape(self.path) + ".*.tmp"):  # of a process that died writing (we hold the lock)
            os.unlink(left)
        write_index(self.path, seq, built())
        self.builds += 1

    def _use(self, shared: SharedFile) -> None:
        """Answer from `shared` plus a new, empty delta: the feed's changes after its stamp come next."""
        if not set(shared.indexes) <= set(self.index.types):
            raise RuntimeError("the shared index %s holds other types than the rules'" % self.path)
        for type_ in self.index.types:
            base = shared.indexes.get(type_) or PdqIndex(self.index.layout, self.index.distances[type_])
            self.index.indexes[type_] = DeltaIndex(base)
        self.file = shared
        self.seq = shared.seq
