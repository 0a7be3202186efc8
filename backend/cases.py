"""The public API for the person affected: submit a case, see its status, withdraw. No login."""
import re

from flask import Blueprint, current_app, request

from hashing import MediaRecord, RecordError

from . import case_ids, ops, pins, storage
from .api import ApiError, json_body, list_field, require_fields

bp = Blueprint("cases", __name__, url_prefix="/api/v1/cases")

NOT_FOUND = "no case with this id and PIN"  # the same words for an unknown id and a wrong PIN
# What a stored id can be (old token_urlsafe ids and new ones alike); anything else is never
# sent to the database (PostgreSQL refuses NUL characters, for one).
_STORABLE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _limiter():
    return current_app.extensions["takeback_pin_attempts"]


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
    """(limiter key, case or None) for an id as typed.

    The exact id first: old ids are case-sensitive and must never be rewritten. Then the
    Crockford id it spells. The key is the stored id, so every spelling of one case counts
    against the same limit of wrong PINs.
    """
    if _STORABLE.fullmatch(text):
        case = storage.get_case(text)
        if case is not None:
            return case.id, case
    canonical = case_ids.canonical(text)
    if canonical is None:
        return text[:64], None
    return canonical, storage.get_case(canonical)


def _authorized(case_id):
    """The case if the X-Case-PIN header opens it; else 404, the same for an unknown id."""
    limiter = _limiter()
    key, case = _lookup(case_id)
    if limiter.blocked(key):
        raise ApiError(429, "too many wrong PINs for this case; try again later", headers={"Retry-After": "900"})
    cost = current_app.config["PIN_SCRYPT_N"]
    if not pins.check(request.headers.get("X-Case-PIN", ""), case.pin_verifier if case else None, cost):
        limiter.failed(key)
        raise ApiError(404, NOT_FOUND)
    return case


@bp.post("")
def create():
    body = json_body()
    require_fields(body, "the body", ("items",))
    items = list_field(body["items"], "items", 1, current_app.config["MAX_ITEMS_PER_CASE"])
    records = []
    for i, item in enumerate(items):
        try:
            records.append(MediaRecord.from_json(item))
        except RecordError as e:
            raise ApiError(400, "items[%d]: %s" % (i, e)) from None
    pin = pins.new_pin()
    verifier = pins.make_verifier(pin, current_app.config["PIN_SCRYPT_N"])  # slow: before the write lock
    case = storage.create_case(case_ids.new_case_id(), verifier, records)
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
