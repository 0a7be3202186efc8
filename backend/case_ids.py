"""Case ids a person can copy by hand: 16 random Crockford base32 symbols, as 7K3M-Q9XA-4TRB-ZW2H.

The id is written down from a screen, read out, typed on a phone. Crockford's alphabet has
no I, L, O or U, so nothing looks alike, and reading back forgives what people do anyway: any
case, with or without hyphens and spaces, I and L read as 1, O as 0. Groups of four are easy
to write down and compare.

80 random bits (not 128) because the id is not the only lock: it only has to be unguessable
by enumeration (with a million cases, a guessed id hits one with a chance of 1 in 10^18), while
the PIN, checked slowly and limited per case, guards each case. 16 symbols still copy reliably.

Ids made before (secrets.token_urlsafe(16): 22 characters, case-sensitive, may hold - and _)
stay valid exactly as stored; callers look an id up as typed first, and only then by
canonical(), so an old id is never rewritten.
"""
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: 32 symbols, 5 bits each
SYMBOLS = 16  # 80 bits
GROUP = 4

_LOOK_ALIKES = str.maketrans("ILO", "110")
_SEPARATORS = str.maketrans("", "", " -")


def _grouped(symbols):
    return "-".join(symbols[i : i + GROUP] for i in range(0, SYMBOLS, GROUP))


def new_case_id():
    return _grouped("".join(secrets.choice(ALPHABET) for _ in range(SYMBOLS)))


def canonical(text):
    """The stored form of an id as a person may type it ("7k3m q9xa 4trb zw2h"), or None.

    None for anything that cannot be a Crockford id: wrong length, other characters, non-ASCII
    (checked first: str.upper() would turn some non-ASCII letters into ASCII ones).
    """
    if not isinstance(text, str) or len(text) > 64 or not text.isascii():
        return None
    symbols = text.translate(_SEPARATORS).upper().translate(_LOOK_ALIKES)
    if len(symbols) != SYMBOLS or not all(c in ALPHABET for c in symbols):
        return None
    return _grouped(symbols)
