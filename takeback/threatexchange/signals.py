"""Takeback's robust hash types as threatexchange signal types, matched by Takeback's one engine.

threatexchange hashes a file into one string per signal type and looks that string up in the
type's index. Takeback hashes an upload into several query hashes (the whole picture, the
picture without its bars or borders, windows of keypoint pairs, block hashes), and each enrolled
hash type matches only the query types hashing.match.RULES pairs it with. So:

- a signal string is one or more Takeback hash records, "type:hex" joined by commas. A feed
  entry is one record ("pdq-window:9f3a…"); a file's hash (hash_from_file) is all of its query
  records that the rules pair with this signal type's enrolled types ("pdq-window:…,pdq-window:…").
- each signal type holds a family of enrolled types: takeback_window the windows and the
  rotated/mirrored whole pictures (a crop, a caption, padding, a turned copy), takeback_blocks
  the block hashes (a sticker or a caption, and with keypoint pairs a crop with them).
- the index (TakebackIndex) wraps takeback.matching.FeedMatcher over the entries in memory: a
  query's records are matched by the rules, and an entry matches at the nearest distance of
  any of them.

Plain PDQ stays threatexchange's own PdqSignal (every HMA instance already matches it).
"""
import os
import pathlib
import re
import threading
import typing as t

from threatexchange.content_type.content_base import ContentType
from threatexchange.content_type.photo import PhotoContent
from threatexchange.signal_type import index
from threatexchange.signal_type.signal_base import FileHasher, SignalComparisonResult, SignalType

from hashing import HashRecord, MediaRecord, can_match, record_distance
from hashing.match import RULES
from takeback.matching import FeedMatcher, MemoryFeed
from takeback.media import HASH_ERRORS, query_record

_ITEM = re.compile(r"([a-z0-9-]{1,32}):([0-9a-f]{1,128})")
# A strong hash: signal strings carry no quality, so only hashes that can match are ever encoded.
_STRONG = 100


def encode(records: t.Iterable[HashRecord]) -> str:
    """A signal string: Takeback hash records as "type:hex", joined by commas."""
    return ",".join("%s:%s" % (r.type, r.value) for r in records)


def decode(signal: str) -> list[HashRecord]:
    """The HashRecords of a signal string (encode); ValueError when it is not one."""
    records = []
    for item in signal.strip().lower().split(","):
        found = _ITEM.fullmatch(item.strip())
        if not found:
            raise ValueError("%r is not a Takeback signal: type:hex, comma-separated" % item[:80])
        records.append(HashRecord(found[1], found[2], _STRONG))  # HashRecord checks the type and the hex
    return records


class TakebackSignal(SignalType, FileHasher):
    """A family of Takeback's perceptual hash types (ENROLLED) with the query types RULES pairs them with."""

    ENROLLED: t.ClassVar[tuple[str, ...]] = ()

    @classmethod
    def query_types(cls) -> tuple[str, ...]:
        return tuple(dict.fromkeys(q for (e, q) in RULES if e in cls.ENROLLED))

    @classmethod
    def get_content_types(cls) -> t.List[t.Type[ContentType]]:
        return [PhotoContent]

    @classmethod
    def get_index_cls(cls) -> t.Type["TakebackIndex"]:
        return TakebackIndex

    @classmethod
    def validate_signal_str(cls, signal_str: str) -> str:
        records = decode(signal_str)
        allowed = set(cls.ENROLLED) | set(cls.query_types())
        for r in records:
            if r.type not in allowed:
                raise ValueError("%s holds only %s hashes, not %s" % (cls.get_name(), ", ".join(sorted(allowed)), r.type))
        return encode(records)

    @classmethod
    def compare_hash(cls, hash1: str, hash2: str) -> SignalComparisonResult:
        """hash1 enrolled, hash2 the query: the nearest pair of their records the rules let match."""
        distances = [d for e in decode(hash1) for q in decode(hash2) if (d := record_distance(e, q)) is not None]
        if not distances:
            return SignalComparisonResult.from_no_match_only()
        return SignalComparisonResult(True, index.SignalSimilarityInfoWithSingleDistance(min(distances)))

    @classmethod
    def hash_from_file(cls, file: pathlib.Path) -> str:
        """The file's query records of this family's query types (empty when it cannot be hashed,
        threatexchange's convention)."""
        record = _query_record(file)
        if record is None:
            return ""
        wanted = cls.query_types()
        return encode(r for r in record.hashes if r.type in wanted and can_match(r))

    @staticmethod
    def get_examples() -> t.List[str]:
        return []


class TakebackWindowSignal(TakebackSignal):
    """Windows of a photo and its rotations/flips: matches a crop, a caption, padding, a turned copy."""

    ENROLLED = ("pdq-window", "pdq-dihedral")

    @classmethod
    def get_name(cls) -> str:
        return "takeback_window"

    @staticmethod
    def get_examples() -> t.List[str]:
        return ["pdq-window:" + "5a" * 32]


class TakebackBlocksSignal(TakebackSignal):
    """Block hashes of a photo and of windows of its keypoint pairs: matches a sticker or a caption,
    and a crop with them."""

    ENROLLED = ("pdq-blocks", "pdq-pair-blocks")

    @classmethod
    def get_name(cls) -> str:
        return "takeback_blocks"

    @staticmethod
    def get_examples() -> t.List[str]:
        return ["pdq-blocks:" + "c3" * 32]


SIGNAL_TYPES: tuple[t.Type[TakebackSignal], ...] = (TakebackWindowSignal, TakebackBlocksSignal)


def signal_type_for(takeback_type: str) -> t.Type[TakebackSignal] | None:
    """The signal type holding enrolled entries of a Takeback hash type, if any."""
    return next((s for s in SIGNAL_TYPES if takeback_type in s.ENROLLED), None)


# threatexchange asks each signal type for its hash of the same file in turn: the file is hashed
# once (the robust hashes take a while) and kept while it is unchanged.
_last: tuple[tuple, MediaRecord | None] | None = None
_last_lock = threading.Lock()


def _query_record(file: pathlib.Path) -> MediaRecord | None:
    global _last
    stat = os.stat(file)
    key = (os.path.realpath(file), stat.st_mtime_ns, stat.st_size, stat.st_ino)
    with _last_lock:
        if _last is not None and _last[0] == key:
            return _last[1]
    try:
        record: MediaRecord | None = query_record(file)
    except HASH_ERRORS:
        record = None
    with _last_lock:
        _last = (key, record)
    return record


T = t.TypeVar("T")


class TakebackIndex(index.SignalTypeIndex[T]):
    """Entries (one Takeback hash record each) and their metadata, matched through
    takeback.matching.FeedMatcher, so hashing.match.RULES decide as everywhere else.

    HMA and the threatexchange CLI store indexes pickled: only the entries are pickled, and the
    matcher is built again at the first query after loading (or after an add)."""

    def __init__(self) -> None:
        self.records: list[HashRecord] = []
        self.metadata: list[list[T]] = []
        self._key: dict[str, int] = {}  # signal string -> position
        self._lock = threading.Lock()
        self._matcher: FeedMatcher | None = None

    def __len__(self) -> int:
        return len(self.records)

    def add(self, signal_str: str, entry: T) -> None:
        records = decode(signal_str)
        if len(records) != 1:
            raise ValueError("an index entry is one Takeback hash, got %d" % len(records))
        signal = encode(records)
        with self._lock:
            key = self._key.get(signal)
            if key is None:
                key = self._key[signal] = len(self.records)
                self.records.append(records[0])
                self.metadata.append([])
                self._matcher = None
            self.metadata[key].append(entry)

    def query(self, query: str) -> t.List[index.IndexMatch[T]]:
        if not query.strip():
            return []  # a file threatexchange could not hash
        records = decode(query)
        nearest: dict[int, int] = {}
        for found in self._built().match(records):
            for key, _, distance in found:
                nearest[key] = min(distance, nearest.get(key, distance))
        return [index.IndexMatch(index.SignalSimilarityInfoWithSingleDistance(distance), meta)
                for key, distance in sorted(nearest.items(), key=lambda kv: (kv[1], kv[0]))
                for meta in self.metadata[key]]

    def _built(self) -> FeedMatcher:
        with self._lock:
            if self._matcher is None:
                self._matcher = FeedMatcher(MemoryFeed(dict(enumerate(self.records))))
                self._matcher.sync()
            return self._matcher

    def __getstate__(self) -> dict:
        return {"records": [(r.type, r.value, r.quality) for r in self.records], "metadata": self.metadata}

    def __setstate__(self, state: dict) -> None:
        self.__init__()  # type: ignore[misc]
        self.records = [HashRecord(*r) for r in state["records"]]
        self.metadata = state["metadata"]
        self._key = {encode([r]): n for n, r in enumerate(self.records)}
