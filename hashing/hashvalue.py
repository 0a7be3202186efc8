"""A hash as a small value: fixed bit length, hex round-trip, `a - b` is the Hamming distance."""
from collections.abc import Sequence


class HashValue:
    """An immutable bit string of `bits` bits (a multiple of 4), written as lowercase hex.

    Bit k of the hash is bit k of the integer; the hex form is that integer, big-endian,
    zero-padded. For PDQ this is exactly Meta's Hash256 text form.
    """

    __slots__ = ("_int", "_bits")

    def __init__(self, value: int, bits: int = 256):
        if not isinstance(bits, int) or bits <= 0 or bits % 4:
            raise ValueError("hash length must be a positive multiple of 4 bits, got %r" % (bits,))
        if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >> bits:
            raise ValueError("hash value must be an integer of at most %d bits" % bits)
        self._int = value
        self._bits = bits

    @classmethod
    def from_hex(cls, text: str, bits: int = 256) -> "HashValue":
        if not isinstance(text, str):
            raise ValueError("hash must be a hex string, got %s" % type(text).__name__)
        if len(text) != bits // 4:
            raise ValueError("hash must be %d hex digits, got %d" % (bits // 4, len(text)))
        if text.strip("0123456789abcdefABCDEF"):
            raise ValueError("hash must contain only hex digits")
        return cls(int(text, 16), bits)

    @classmethod
    def from_bits(cls, bit_list: Sequence[int]) -> "HashValue":
        """From a sequence of 0/1 where index k is bit k."""
        value = 0
        for k, bit in enumerate(bit_list):
            if bit:
                value |= 1 << k
        return cls(value, len(bit_list))

    @property
    def bits(self) -> int:
        return self._bits

    def __int__(self):
        return self._int

    def hex(self) -> str:
        return format(self._int, "0%dx" % (self._bits // 4))

    def bit(self, k: int) -> int:
        return (self._int >> k) & 1

    def __sub__(self, other: "HashValue") -> int:
        if not isinstance(other, HashValue):
            return NotImplemented
        if other._bits != self._bits:
            raise ValueError("cannot compare hashes of %d and %d bits" % (self._bits, other._bits))
        return bin(self._int ^ other._int).count("1")

    def __eq__(self, other):
        return isinstance(other, HashValue) and (self._int, self._bits) == (other._int, other._bits)

    def __hash__(self):
        return hash((self._int, self._bits))

    def __str__(self):
        return self.hex()

    def __repr__(self):
        return "HashValue(%r)" % self.hex()


def hamming(a_hex: str, b_hex: str) -> int:
    """Hamming distance between two equal-length hex strings."""
    if len(a_hex) != len(b_hex):
        raise ValueError("cannot compare hashes of %d and %d hex digits" % (len(a_hex), len(b_hex)))
    bits = 4 * len(a_hex)
    return HashValue.from_hex(a_hex, bits) - HashValue.from_hex(b_hex, bits)
