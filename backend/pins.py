"""Case PINs: generated, stored only as a salted scrypt verifier, guessing slowed in memory.

A PIN is 12 random digits (about 40 bits). Digits, because the person may be on a phone,
frightened, typing from a screenshot or a note: a numeric keypad, no spelling, no language.
It is the second secret next to an 80-bit case id (see case_ids), so it only has to survive
guessing: online, the rate limit below allows a handful of tries per case; offline, from a
stolen database, each try costs a 16 MiB scrypt, so 2^40 tries are out of reach.
"""
import functools
import hashlib
import hmac
import secrets
import threading
import time

PIN_DIGITS = 12
SCRYPT_N, _R, _P = 2**14, 8, 1  # 16 MiB of memory per try, 50-70 ms on one core


def new_pin():
    return "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))


def normalize(pin):
    """Spaces and hyphens are ignored, so "1234 5678 9012" and "1234-5678-9012" both work."""
    if not isinstance(pin, str):
        return ""
    return pin.replace(" ", "").replace("-", "")


def _scrypt(pin, salt, n, r, p):
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def make_verifier(pin, n=SCRYPT_N):
    """"scrypt$n$r$p$salt$hash": the parameters travel with the hash, so they can be raised later."""
    salt = secrets.token_bytes(16)
    return "scrypt$%d$%d$%d$%s$%s" % (n, _R, _P, salt.hex(), _scrypt(normalize(pin), salt, n, _R, _P).hex())


@functools.lru_cache(maxsize=4)
def _dummy(n):
    return make_verifier(new_pin(), n)


def check(pin, verifier=None, n=SCRYPT_N):
    """True if `pin` matches `verifier`. With no verifier (unknown case id) it does the same
    work against a dummy verifier of cost n and returns False: both answers take as long."""
    _, n, r, p, salt, expected = (verifier or _dummy(n)).split("$")
    pin = normalize(pin)
    if not pin.isdigit() or len(pin) > 64:
        pin = "x"  # still hash, to keep the timing alike
    ok = hmac.compare_digest(_scrypt(pin, bytes.fromhex(salt), int(n), int(r), int(p)).hex(), expected)
    return ok and verifier is not None


class AttemptLimiter:
    """At most `limit` failed attempts per key in each `window` seconds, held in memory only.

    Keyed by the case id, never by address: a guesser needs the id anyway, and an address
    would be personal data. A process-wide cap bounds the scrypt work guessing can cause.
    """

    def __init__(self, limit=10, window=900, global_limit=1200, global_window=60, clock=time.monotonic):
        self.limit = limit
        self.window = window
        self.global_limit = global_limit
        self.global_window = global_window
        self.clock = clock
        self._lock = threading.Lock()
        self._failures = {}  # key -> [window start, count]
        self._global = [0.0, 0]

    def _current(self, slot, now, window=None):
        if now - slot[0] >= (window or self.window):
            slot[0], slot[1] = now, 0
        return slot

    def blocked(self, key):
        now = self.clock()
        with self._lock:
            if self._current(self._global, now, self.global_window)[1] >= self.global_limit:
                return True
            slot = self._failures.get(key)
            return slot is not None and self._current(slot, now)[1] >= self.limit

    def failed(self, key):
        now = self.clock()
        with self._lock:
            self._current(self._global, now, self.global_window)[1] += 1
            if len(self._failures) > 100_000:  # forget expired windows; memory stays bounded
                self._failures = {k: s for k, s in self._failures.items() if now - s[0] < self.window}
            slot = self._failures.setdefault(key, [now, 0])
            self._current(slot, now)[1] += 1
