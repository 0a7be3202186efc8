"""Proof of work for submitting a case: the same code in the browser (Pyodide) and in CPython.

The server hands out a challenge (a string) and a difficulty `bits`; the client looks for a
nonce such that SHA-256(PREFIX || challenge || 0x0a || SHA-256(body) || nonce) starts with at
least `bits` zero bits. The body's digest is in it, so a solution is good for that one body
only. The nonce is a decimal number written in ASCII (at most MAX_NONCE_DIGITS digits); solve()
returns the smallest, so every runtime finds the same one.
"""
import hashlib
import json

PREFIX = b"takeback-work-v1\n"
MAX_NONCE_DIGITS = 20
MAX_BITS = 64
FREE_HASHES = 2000  # a case of up to this many hash records (~30 photos) needs the base bits


def required_bits(bits: int, hashes: int) -> int:
    """The zero bits a case of `hashes` hash records needs, on a challenge of `bits`."""
    extra = 0
    while hashes > FREE_HASHES << extra:
        extra += 1
    return min(MAX_BITS, bits + extra)


def case_hashes(body: bytes) -> int:
    """How many hash records a case body holds (0 if it is not a case: the server refuses it anyway)."""
    try:
        items = json.loads(body.decode("utf-8")).get("items")
        return sum(len(item["hashes"]) for item in items)
    except (ValueError, AttributeError, TypeError, KeyError):
        return 0


def body_digest(body: bytes) -> bytes:
    """SHA-256 of the exact bytes of the request body."""
    return hashlib.sha256(body).digest()


def _start(challenge: str, digest: bytes) -> "hashlib._Hash":
    if len(digest) != 32:
        raise ValueError("the body digest must be 32 bytes (SHA-256)")
    return hashlib.sha256(PREFIX + challenge.encode("ascii") + b"\n" + digest)


def _leading_zeros(value: bytes, bits: int) -> bool:
    return int.from_bytes(value[:8], "big") >> (64 - bits) == 0 if bits else True


def solve(challenge: str, digest: bytes, bits: int) -> int:
    """The smallest nonce whose hash starts with `bits` zero bits (about 2**bits tries)."""
    if not 0 <= bits <= MAX_BITS:
        raise ValueError("bits must be from 0 to %d" % MAX_BITS)
    start = _start(challenge, digest)
    shift = 64 - bits
    nonce = 0
    while True:
        h = start.copy()
        h.update(str(nonce).encode("ascii"))
        if int.from_bytes(h.digest()[:8], "big") >> shift == 0:
            return nonce
        nonce += 1


def verify(challenge: str, digest: bytes, bits: int, nonce: str) -> bool:
    """Whether `nonce` (as sent: decimal digits) solves the challenge for this body digest."""
    if not (isinstance(nonce, str) and 0 < len(nonce) <= MAX_NONCE_DIGITS and nonce.isascii() and nonce.isdigit()):
        return False
    if not 0 <= bits <= MAX_BITS:
        return False
    h = _start(challenge, digest)
    h.update(nonce.encode("ascii"))
    return _leading_zeros(h.digest(), bits)
