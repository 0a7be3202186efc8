"""PINs: generation, the scrypt verifier, and the limits on guessing: counted in the database
(shared by every process, kept over restarts), slowed per case, never locking the owner out."""
import threading

from sqlalchemy import select

from backend import case_ids, create_app, pins
from backend.models import Case, PinAttempt, db

from .conftest import media_record, submit

START = 1_000_000.0  # the tests' clock: seconds since 1970, moved by hand


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


def test_delay_doubles_up_to_the_cap():
    delays = [pins.delay(tries, free=3, first=1, cap=60) for tries in range(12)]
    assert delays == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert pins.delay(10**9, free=3, first=1, cap=60) == 60  # a year of guessing stays cheap to count


def test_defaults():
    config = create_app().config
    assert (config["PIN_FREE_ATTEMPTS"], config["PIN_FIRST_DELAY"], config["PIN_MAX_DELAY"]) == (3, 1, 60)
    assert "PIN_ATTEMPTS" not in config and "PIN_WINDOW" not in config


class Clock:
    def __init__(self):
        self.now = START

    def __call__(self):
        return self.now


def status(client, case_id, pin):
    return client.get("/api/v1/cases/" + case_id, headers={"X-Case-PIN": pin})


def wrong(pin):
    return "000000000000" if pin != "000000000000" else "111111111111"


def attempts(app):
    with app.app_context():
        return {a.key: (a.tries, a.next_try) for a in db.session.scalars(select(PinAttempt))}


def test_limits_are_shared_by_workers_and_kept_over_a_restart(app_factory):
    clock = Clock()
    workers = [app_factory(PIN_CLOCK=clock).test_client() for _ in range(2)]  # one database
    receipt = submit(workers[0], media_record(1))
    case_id, pin = receipt["case_id"], receipt["pin"]
    for n in range(3):  # the free wrong PINs, spread over both workers
        assert status(workers[n % 2], case_id, wrong(pin)).status_code == 404
    for worker in workers:
        assert status(worker, case_id, pin).status_code == 429
    restarted = app_factory(PIN_CLOCK=clock).test_client()
    response = status(restarted, case_id, pin)
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    clock.now += 1
    assert status(restarted, case_id, pin).status_code == 200


def test_the_owner_gets_in_after_50_wrong_guesses(app):
    clock = Clock()
    app.config["PIN_CLOCK"] = clock
    client = app.test_client()
    receipt = submit(client, media_record(1))
    case_id, pin = receipt["case_id"], receipt["pin"]
    waits = []
    for _ in range(50):  # the attacker guesses at every turn
        response = status(client, case_id, wrong(pin))
        if response.status_code == 429:
            waits.append(int(response.headers["Retry-After"]))
            clock.now += waits[-1]
            response = status(client, case_id, wrong(pin))
        assert response.status_code == 404
    assert waits == [1, 2, 4, 8, 16, 32] + [60] * 41  # 3 free, then doubling to the cap
    response = status(client, case_id, pin)  # the owner comes back
    assert response.status_code == 429 and int(response.headers["Retry-After"]) <= 60
    assert "checked in 60 seconds" in response.get_json()["detail"]
    clock.now += int(response.headers["Retry-After"])
    assert status(client, case_id, pin).status_code == 200
    assert attempts(app) == {}  # a right PIN starts afresh: 3 free wrong PINs again
    assert [status(client, case_id, wrong(pin)).status_code for _ in range(4)] == [404, 404, 404, 429]


def test_retry_after_is_the_true_wait(app):
    clock = Clock()
    clock.now = START + 0.25  # a fraction: the stored time is whole seconds, Retry-After rounds up
    app.config["PIN_CLOCK"] = clock
    client = app.test_client()
    receipt = submit(client, media_record(1))
    case_id, pin = receipt["case_id"], receipt["pin"]
    for _ in range(8):
        response = status(client, case_id, wrong(pin))
        if response.status_code == 429:
            seconds = int(response.headers["Retry-After"])
            assert seconds >= 1 and ("checked in %d second" % seconds) in response.get_json()["detail"]
            clock.now += seconds - 0.5
            early = status(client, case_id, wrong(pin))
            assert early.status_code == 429 and early.headers["Retry-After"] == "1"
            clock.now += 0.5
            response = status(client, case_id, wrong(pin))
        assert response.status_code == 404
    assert next(iter(attempts(app).values()))[0] == 8


def test_guessing_random_ids_touches_no_case(app):
    clock = Clock()
    app.config["PIN_CLOCK"] = clock
    client = app.test_client()
    receipt = submit(client, media_record(1))
    typed = []
    for _ in range(300):
        typed.append(case_ids.new_case_id())
        assert status(client, typed[-1], "123456789012").status_code == 404
    assert status(client, receipt["case_id"], receipt["pin"]).status_code == 200
    keys = attempts(app)
    assert len(keys) == 300 and all(k.startswith("#") and len(k) == 65 for k in keys)
    assert not any(t in k for t in typed for k in keys)  # never the typed text


def test_an_unknown_id_is_slowed_like_a_case(app):
    """Or its 429 would tell a guesser which ids are cases. Every spelling counts as one id."""
    app.config["PIN_CLOCK"] = Clock()
    client = app.test_client()
    receipt = submit(client, media_record(1))
    unknown = "7K3M-Q9XA-4TR1-Z0W1"
    for _ in range(3):
        assert status(client, receipt["case_id"], wrong(receipt["pin"])).status_code == 404
    for typed in ("7k3mq9xa4tr1z0w1", "7K3M Q9XA 4TRI ZOWL", unknown):
        assert status(client, typed, "123456789012").status_code == 404
    case, no_case = status(client, receipt["case_id"], "1"), status(client, unknown, "1")
    assert case.status_code == no_case.status_code == 429
    assert case.get_json() == no_case.get_json() and case.headers["Retry-After"] == no_case.headers["Retry-After"]


def test_concurrent_wrong_pins_from_two_workers_get_no_extra_turn(app_factory):
    clock = Clock()  # frozen: only the free wrong PINs, then exactly one per turn
    workers = [app_factory(PIN_CLOCK=clock, PIN_CHECKS=8) for _ in range(2)]
    receipt = submit(workers[0].test_client(), media_record(1))
    case_id, pin = receipt["case_id"], receipt["pin"]

    def burst(threads=12):
        barrier = threading.Barrier(threads)
        answers = []

        def guess(worker):
            client = worker.test_client()
            barrier.wait()
            answers.append(status(client, case_id, wrong(pin)).status_code)

        runners = [threading.Thread(target=guess, args=(workers[n % 2],)) for n in range(threads)]
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join()
        return sorted(answers)

    assert burst() == [404] * 3 + [429] * 9
    for wait in (1, 2, 4):
        clock.now += wait
        assert burst() == [404] + [429] * 11
    assert next(iter(attempts(workers[1]).values()))[0] == 6


def test_old_counts_are_forgotten(app):
    clock = Clock()
    app.config["PIN_CLOCK"] = clock
    client = app.test_client()
    receipt = submit(client, media_record(1))
    case_id, pin = receipt["case_id"], receipt["pin"]
    for _ in range(3):
        status(client, case_id, wrong(pin))
    assert status(client, case_id, wrong(pin)).status_code == 429
    clock.now += 1 + 3599  # its turn came a second later; an hour after that it is forgotten ...
    assert status(client, "ABCD-EFGH-JKMN-PQ12", "1").status_code == 404
    assert case_id in attempts(app)
    clock.now += 1
    assert status(client, "ABCD-EFGH-JKMN-PQ1Z", "1").status_code == 404  # ... and removed on a new count
    assert sorted(k[0] for k in attempts(app)) == ["#", "#"]
    assert [status(client, case_id, wrong(pin)).status_code for _ in range(4)] == [404, 404, 404, 429]


def test_pin_checks_wait_their_turn_then_get_503(app):
    clock = Clock()
    app.config.update(PIN_CLOCK=clock, PIN_CHECK_WAIT=0.2)
    client = app.test_client()
    receipt = submit(client, media_record(1))
    case_id, pin = receipt["case_id"], receipt["pin"]
    slots = app.extensions["takeback_pin_checks"]
    for _ in range(app.config["PIN_CHECKS"]):  # every slot busy
        slots.acquire()
    busy = status(client, case_id, pin)
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
    assert busy.get_json()["error"] == "busy" and "try again in 1 second" in busy.get_json()["detail"]
    assert attempts(app) == {}  # nothing was counted

    app.config["PIN_CHECK_WAIT"] = 30
    answers = []
    waiting = threading.Thread(target=lambda: answers.append(status(app.test_client(), case_id, pin).status_code))
    waiting.start()
    waiting.join(0.3)
    assert answers == []  # waits for a slot ...
    slots.release()
    waiting.join(30)
    assert answers == [200]  # ... and gets in when one is free
    for _ in range(app.config["PIN_CHECKS"] - 1):
        slots.release()


def test_slots_are_taken_in_order_of_arrival():
    slots = pins.Slots(1)
    assert slots.acquire(timeout=0)
    assert not slots.acquire(timeout=0.05)  # none free: gives up after its timeout
    order = []

    def wait(name):
        assert slots.acquire(timeout=30)
        order.append(name)

    waiters = []
    for name in ("first", "second", "third"):
        waiters.append(threading.Thread(target=wait, args=(name,)))
        waiters[-1].start()
        while len(slots._queue) < len(waiters):  # queued before the next one comes
            threading.Event().wait(0.001)
    for waiter in waiters:
        slots.release()
        waiter.join(30)
    assert order == ["first", "second", "third"]
    slots.release()
    assert slots.acquire(timeout=0)


def test_the_attempt_table_holds_no_more_than_ids_and_counts(app):
    app.config["PIN_CLOCK"] = Clock()
    client = app.test_client()
    receipt = submit(client, media_record(1))
    status(client, receipt["case_id"], wrong(receipt["pin"]))
    with app.app_context():
        assert db.session.scalar(select(Case.id)) == receipt["case_id"]
    assert attempts(app) == {receipt["case_id"]: (1, int(START))}
