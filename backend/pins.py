"""Case PINs: generated, stored only as a salted scrypt verifier, guessing slowed per case.

A PIN is 12 random digits (about 40 bits). Digits, because the person may be on a phone,
frightened, typing from a screenshot or a note: a numeric keypad, no spelling, no language.
It is the second secret next to an 80-bit case id (see case_ids), so it only has to survive
guessing: online, a few wrong PINs on one case are checked at once, then each next one only
after a delay that doubles up to a minute (`delay`; the counts live in the database, see
storage.claim_pin_try), so a guesser gets about one try a minute: 10^12 PINs, ~950,000 years
on average. Offline, from a stolen database, each try costs a 16 MiB scrypt, so 2^40 tries are
out of reach.
"""
import collections
import functools
import hashlib
import hmac
import secrets
import threading

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


def delay(tries, free, first, cap):
    """Seconds from a wrong PIN, the `tries`-th in a row on one case, until the next is checked:
    none after the first `free`, then `first`, doubling with each further one, at most `cap`."""
    if tries < free:
        return 0
    return min(cap, first * 2 ** min(tries - free, 32))


def unknown_id_key(secret, text):
    """What stands in for an id that is no case in the table of attempts: "#" and a keyed hash,
    never the text (someone may have typed anything). "#" is never in a stored id."""
    return "#" + hmac.new(bytes.fromhex(secret), text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


class Slots:
    """At most `size` holders at once (PIN checks: 16 MiB and ~60 ms of scrypt each); the others
    wait, first come first served, each up to its timeout. Fair, so a flood of guesses only
    makes the owner wait their turn in the queue, never skip it."""

    def __init__(self, size):
        self._lock = threading.Lock()
        self._free = size
        self._queue = collections.deque()  # one Event per waiting request, oldest first

    def acquire(self, timeout=None):
        with self._lock:
            if self._free and not self._queue:
                self._free -= 1
                return True
            turn = threading.Event()
            self._queue.append(turn)
        if turn.wait(timeout):
            return True
        with self._lock:
            if turn.is_set():  # handed a slot just as the wait ran out
                return True
            self._queue.remove(turn)
            return False

    def release(self):
        with self._lock:
            if self._queue:
                self._queue.popleft().set()  # the slot goes straight to the oldest waiter
            else:
                self._free += 1
