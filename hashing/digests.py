"""Exact digests of a file's bytes, fed in chunks so that a large video is never one bytes object."""
import hashlib
from collections.abc import Iterable

DIGEST_TYPES = ("md5", "sha256")


class FileDigests:
    """Incremental md5 and sha256 of one file: call update() with each chunk, then hexdigests()."""

    def __init__(self) -> None:
        self._hashers = {name: hashlib.new(name) for name in DIGEST_TYPES}
        self.size = 0

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError("file chunk must be bytes, got %s" % type(chunk).__name__)
        for hasher in self._hashers.values():
            hasher.update(chunk)
        self.size += len(chunk)

    def hexdigests(self) -> dict[str, str]:
        """{"md5": hex, "sha256": hex} of everything fed so far."""
        return {name: hasher.hexdigest() for name, hasher in self._hashers.items()}


def digest_chunks(chunks: Iterable[bytes | bytearray | memoryview]) -> dict[str, str]:
    """md5 and sha256 hex digests of an iterable of byte chunks."""
    digests = FileDigests()
    for chunk in chunks:
        digests.update(chunk)
    return digests.hexdigests()
