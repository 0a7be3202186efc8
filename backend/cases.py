"""The public API for the person affected: submit a case, see its status, withdraw. No login."""
import math
import re

from flask import Blueprint, current_app, request

from hashing import DIGEST_TYPES, MediaRecord, RecordError
from hashing.robust import ENROL_BUDGET
from hashing.video import MAX_VIDEO_HASHES

from . import admission, case_ids, ops, pins, storage
from .api import ApiError, json_body, list_field, require_fields

bp = Blueprint("cases", __name__, url_prefix="/api/v1/cases")

NOT_FOUND = "no case with this id and PIN"  # the same words for an unknown id and a wrong PIN
# What a stored id can be (old token_urlsafe ids and new ones alike); anything else is never
# sent to the database (PostgreSQL refuses NUL characters, for one).
_STORABLE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _case_body(case_id):
    case = storage.get_case(case_id)
    reports = storage.item_reports(case_id)
    empty = {"matched": 0, "removed": 0, "not_removed": 0}
    return {
        "case_id": case.id,
        "created": case.created.isoformat(),
        "items": [
            {"item": i.number, "media": i.media, "status": i.status, "reports": reports.get(i.number, empty)}
            for i in storage.case_items(case_id)
        ],
    }


def _lookup(text):
    """(attempts key, case or None) for an id as typed.

    The exact id first: old ids are case-sensitive and must never be rewritten. Then the
    Crockford id it spells. The key is the stored id, so every spelling of one case counts
    against the same case; an id that is no case counts (every spelling of it alike, so it
    behaves like a case) under a keyed hash, never as typed.
    """
    if _STORABLE.fullmatch(text):
        case = storage.get_case(text)
        if case is not None:
            return case.id, case
    canonical = case_ids.canonical(text)
    case = storage.get_case(canonical) if canonical else None
    if case is not None:
        return case.id, case
    return pins.unknown_id_key(storage.pin_key(), canonical or text), None


def _too_many(wait):
    seconds = math.ceil(wait)
    return ApiError(429, "too many wrong PINs for this case: the next PIN for it is checked in %s, not before"
                    % ("1 second" if seconds == 1 else "%d seconds" % seconds), headers={"Retry-After": str(seconds)})


def _authorized(case_id):
    """The case if the X-Case-PIN header opens it; else 404, the same for an unknown id.

    Wrong PINs slow down the next try on the same case (429 until then), and PIN checks wait
    their turn for one of PIN_CHECKS slots of this process (503 after PIN_CHECK_WAIT seconds).
    """
    config = current_app.config
    key, case = _lookup(case_id)
    verifier = case.pin_verifier if case else None  # read now: the claim below starts a new transaction
    wait = storage.pin_wait(key, config["PIN_CLOCK"]())
    if wait > 0:  # refused without queueing for a slot: waiting guessers cost next to nothing
        raise _too_many(wait)
    slots = current_app.extensions["takeback_pin_checks"]
    if not slots.acquire(timeout=config["PIN_CHECK_WAIT"]):
        raise ApiError(503, "the server is busy checking other PINs; nothing was checked, try again in 1 second",
                       headers={"Retry-After": "1"})
    try:
        wait = storage.claim_pin_try(
            key, config["PIN_CLOCK"](),
            lambda tries: pins.delay(tries, config["PIN_FREE_ATTEMPTS"], config["PIN_FIRST_DELAY"], config["PIN_MAX_DELAY"]),
            config["PIN_FORGET_AFTER"])
        if wait > 0:
            raise _too_many(wait)
        right = pins.check(request.headers.get("X-Case-PIN", ""), verifier, config["PIN_SCRYPT_N"])
    finally:
        slots.release()
    if not right:
        raise ApiError(404, NOT_FOUND)
    storage.forget_pin_tries(key)
    return case


# The most hashes the app sends for one item: a photo's PDQ, robust hashes and digests; a
# video's frame hashes (hashing.video.MAX_VIDEO_HASHES), and digests.
MAX_HASHES = {"image": 1 + ENROL_BUDGET + len(DIGEST_TYPES), "video": MAX_VIDEO_HASHES + len(DIGEST_TYPES)}


def _check_caps(record, i):
    if len(record.hashes) > MAX_HASHES[record.media]:
        raise ApiError(400, "items[%d]: a %s record may hold at most %d hashes, got %d" % (
            i, record.media, MAX_HASHES[record.media], len(record.hashes)))
    for name in DIGEST_TYPES:  # one file has one digest of each kind
        if sum(h.type == name for h in record.hashes) > 1:
            raise ApiError(400, "items[%d]: a record may hold one %s digest (of its file), not more" % (i, name))


@bp.post("")
def create():
    config = current_app.config
    if config["ADMISSION"]:
        admission.require_work()  # before reading the body
    body, digest = json_body(digest=True)
    require_fields(body, "the body", ("items",))
    items = list_field(body["items"], "items", 1, config["MAX_ITEMS_PER_CASE"])
    records = []
    for i, item in enumerate(items):
        try:
            records.append(MediaRecord.from_json(item))
        except RecordError as e:
            raise ApiError(400, "items[%d]: %s" % (i, e)) from None
        _check_caps(records[-1], i)
    now = config["CLOCK"]()
    if config["ADMISSION"]:
        admission.check(digest, sum(len(r.hashes) for r in records), now)
    pin = pins.new_pin()
    verifier = pins.make_verifier(pin, config["PIN_SCRYPT_N"])  # slow: before the write lock
    case = storage.create_case(case_ids.new_case_id(), verifier, records, now, config["QUARANTINE_SECONDS"])
    ops.case_created(records)
    body = {
        "case_id": case.id,
        "pin": pin,
        "created": case.created.isoformat(),
        "items": [{"item": n, "media": r.media, "status": "active"} for n, r in enumerate(records, 1)],
    }
    return body, 201


@bp.get("/<case_id>")
def status(case_id):
    case = _authorized(case_id)
    return _case_body(case.id)


@bp.post("/<case_id>/withdraw")
def withdraw(case_id):
    body = json_body()  # checked before the PIN: a malformed request never costs a guess
    require_fields(body, "the body", (), ("items",))
    numbers = None
    if "items" in body:
        numbers = list_field(body["items"], "items", 1, 10_000)
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
            raise ApiError(400, "items must be item numbers (integers)")
    case = _authorized(case_id)
    if numbers is not None:
        known = {i.number for i in storage.case_items(case.id)}
        unknown = sorted(set(numbers) - known)
        if unknown:
            raise ApiError(400, "items: this case has no item %d" % unknown[0])
    storage.withdraw(case.id, numbers)
    ops.withdrawn()
    return _case_body(case.id)
