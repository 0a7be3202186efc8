"""Hash records: the only thing that leaves the person's device.

    {"media": "image", "hashes": [{"type": "pdq", "value": "f8f8…", "quality": 100},
                                  {"type": "md5", "value": "…"}, {"type": "sha256", "value": "…"}]}

No file name, size, dimensions, time or place. Signal types are data: a new algorithm is a new
entry in SIGNAL_TYPES, never a change to an existing one.
"""
from collections.abc import Iterable

from .hashvalue import HashValue

MEDIA_TYPES = ("image", "video")

# PDQ's documented floor: a hash of quality below this comes from a near-featureless image
# (flat colour, heavy blur) and matches too much to be trusted on its own.
WEAK_QUALITY = 50

# Generous for one photo (PDQ + digests + up to 64 robust hashes) and for one video (up to
# hashing.video.MAX_VIDEO_HASHES, 1,392, + digests); a cap keeps a record small.
MAX_HASHES_PER_MEDIA = 1536


class RecordError(ValueError):
    """A hash record does not follow the format."""


class SignalType:
    """What a hash type is: its length, and whether it is perceptual (compared by distance)."""

    __slots__ = ("name", "bits", "perceptual")
    name: str
    bits: int
    perceptual: bool

    def __init__(self, name: str, bits: int, perceptual: bool):
        self.name = name
        self.bits = bits
        self.perceptual = perceptual

    @property
    def hex_length(self) -> int:
        return self.bits // 4

    def __repr__(self):
        return "SignalType(%r)" % self.name


SIGNAL_TYPES = {
    t.name: t
    for t in (
        SignalType("pdq", 256, perceptual=True),
        # hashing.robust: PDQ-like hashes of windows of a photo, and of its rotations/flips.
        SignalType("pdq-window", 256, perceptual=True),
        SignalType("pdq-dihedral", 256, perceptual=True),
        SignalType("pdq-blocks", 256, perceptual=True),
        SignalType("pdq-pair-blocks", 256, perceptual=True),
        SignalType("md5", 128, perceptual=False),
        SignalType("sha256", 256, perceptual=False),
    )
}

_HEX = frozenset("0123456789abcdef")


def _require_keys(obj, what, required, optional=()):
    if not isinstance(obj, dict):
        raise RecordError("%s must be a JSON object, got %s" % (what, type(obj).__name__))
    missing = [k for k in required if k not in obj]
    if missing:
        raise RecordError("%s is missing %s" % (what, ", ".join(repr(k) for k in missing)))
    unknown = sorted(set(obj) - set(required) - set(optional))
    if unknown:
        raise RecordError("%s has unknown field %s" % (what, ", ".join(repr(k) for k in unknown)))


class HashRecord:
    """One hash of one media item: type, lowercase hex value and (perceptual types only) quality 0-100."""

    __slots__ = ("type", "value", "quality")
    type: str
    value: str
    quality: int | None

    def __init__(self, type: str, value: str, quality: int | None = None):
        signal = SIGNAL_TYPES.get(type) if isinstance(type, str) else None
        if signal is None:
            raise RecordError("unknown hash type %r: expected one of %s" % (type, ", ".join(SIGNAL_TYPES)))
        if not isinstance(value, str):
            raise RecordError("%s value must be a hex string" % type)
        if len(value) != signal.hex_length:
            raise RecordError("%s value must be %d hex digits, got %d" % (type, signal.hex_length, len(value)))
        if not _HEX.issuperset(value):
            raise RecordError("%s value must be lowercase hex digits" % type)
        if signal.perceptual:
            if not isinstance(quality, int) or isinstance(quality, bool) or not 0 <= quality <= 100:
                raise RecordError("%s quality must be an integer from 0 to 100, got %r" % (type, quality))
        elif quality is not None:
            raise RecordError("%s is exact and takes no quality" % type)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "quality", quality)

    def __setattr__(self, name, value):
        raise AttributeError("HashRecord is immutable")

    @property
    def signal(self) -> SignalType:
        return SIGNAL_TYPES[self.type]

    @property
    def perceptual(self) -> bool:
        return self.signal.perceptual

    @property
    def weak(self) -> bool:
        """True for a perceptual hash too featureless to be used alone for a match."""
        return self.perceptual and self.quality is not None and self.quality < WEAK_QUALITY

    def hash_value(self) -> HashValue:
        return HashValue.from_hex(self.value, self.signal.bits)

    @classmethod
    def from_json(cls, obj: dict) -> "HashRecord":
        _require_keys(obj, "hash record", ("type", "value"), ("quality",))
        return cls(obj["type"], obj["value"], obj.get("quality"))

    def to_json(self) -> dict:
        out: dict = {"type": self.type, "value": self.value}
        if self.quality is not None:
            out["quality"] = self.quality
        return out

    def _key(self):
        return (self.type, self.value, self.quality)

    def __eq__(self, other):
        return isinstance(other, HashRecord) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        q = "" if self.quality is None else ", quality=%d" % self.quality
        return "HashRecord(%r, %r%s)" % (self.type, self.value, q)


class MediaRecord:
    """The hash records of one photo or video, as sent from the device."""

    __slots__ = ("media", "hashes")
    media: str
    hashes: tuple[HashRecord, ...]

    def __init__(self, media: str, hashes: Iterable[HashRecord]):
        if media not in MEDIA_TYPES:
            raise RecordError("media must be one of %s, got %r" % (", ".join(MEDIA_TYPES), media))
        hashes = tuple(hashes)
        if not hashes:
            raise RecordError("a media record needs at least one hash")
        if len(hashes) > MAX_HASHES_PER_MEDIA:
            raise RecordError("a media record may hold at most %d hashes, got %d" % (MAX_HASHES_PER_MEDIA, len(hashes)))
        seen = set()
        for h in hashes:
            if not isinstance(h, HashRecord):
                raise RecordError("hashes must be HashRecord values")
            if (h.type, h.value) in seen:
                raise RecordError("duplicate %s hash %s" % (h.type, h.value))
            seen.add((h.type, h.value))
        object.__setattr__(self, "media", media)
        object.__setattr__(self, "hashes", hashes)

    def __setattr__(self, name, value):
        raise AttributeError("MediaRecord is immutable")

    def of_type(self, type: str) -> list[HashRecord]:
        return [h for h in self.hashes if h.type == type]

    @classmethod
    def from_json(cls, obj: dict) -> "MediaRecord":
        _require_keys(obj, "media record", ("media", "hashes"))
        if not isinstance(obj["hashes"], list):
            raise RecordError("hashes must be a JSON array")
        records = []
        for i, h in enumerate(obj["hashes"]):
            try:
                records.append(HashRecord.from_json(h))
            except RecordError as e:
                raise RecordError("hashes[%d]: %s" % (i, e)) from None
        return cls(obj["media"], records)

    def to_json(self) -> dict:
        return {"media": self.media, "hashes": [h.to_json() for h in self.hashes]}

    def __eq__(self, other):
        return isinstance(other, MediaRecord) and (self.media, self.hashes) == (other.media, other.hashes)

    def __hash__(self):
        return hash((self.media, self.hashes))

    def __repr__(self):
        return "MediaRecord(%r, %r)" % (self.media, list(self.hashes))
