"""PINs: generation, the scrypt verifier, and the in-memory limit on guesses."""
from backend import create_app, pins


def test_pins_are_12_random_digits():
    generated = {pins.new_pin() for _ in range(200)}
    assert len(generated) == 200
    assert all(len(p) == 12 and p.isdigit() for p in generated)


def test_verifier_is_salted_scrypt_at_production_cost():
    assert create_app().config["PIN_SCRYPT_N"] == 2**14 == pins.SCRYPT_N
    a, b = pins.make_verifier("123456789012"), pins.make_verifier("123456789012")
    assert a != b  # salted
    kind, n, r, p, salt, digest = a.split("$")
    assert (kind, n, r, p) == ("scrypt", "16384", "8", "1") and len(bytes.fromhex(salt)) == 16
    assert "123456789012" not in a


def test_check():
    verifier = pins.make_verifier("123456789012", n=2**10)
    assert pins.check("123456789012", verifier)
    assert pins.check("1234 5678-9012", verifier)
    for wrong in ("123456789013", "", "12345678901", "abc", None, "1" * 1000):
        assert not pins.check(wrong, verifier)
    assert not pins.check("123456789012", None, n=2**10)  # unknown case: same work, always False


def test_limiter_blocks_after_the_limit_and_forgets_after_the_window():
    now = [1000.0]
    limiter = pins.AttemptLimiter(limit=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert not limiter.blocked("case-a")
        limiter.failed("case-a")
    assert limiter.blocked("case-a")
    assert not limiter.blocked("case-b")
    now[0] += 61
    assert not limiter.blocked("case-a")


def test_limiter_has_a_process_wide_cap():
    now = [0.0]
    limiter = pins.AttemptLimiter(limit=100, window=900, global_limit=5, global_window=60, clock=lambda: now[0])
    for n in range(5):
        limiter.failed("case-%d" % n)
    assert limiter.blocked("case-new")
    now[0] += 61
    assert not limiter.blocked("case-new")


def test_limiter_memory_stays_bounded():
    now = [0.0]
    limiter = pins.AttemptLimiter(limit=3, window=10, global_limit=10**9, clock=lambda: now[0])
    for n in range(100_001):
        limiter.failed(n)
    now[0] += 11
    limiter.failed("late")
    assert len(limiter._failures) == 1
