"""The partner API for platforms: the hash feed, matching, and feedback. Bearer token per platform."""
import hashlib
import hmac
import re

from flask import Blueprint, current_app, g, request

from hashing import SIGNAL_TYPES, HashRecord, RecordError

from . import matching, ops, storage
from .api import ApiError, int_field, json_body, list_field, require_fields
from .models import ACTIVE, OUTCOMES

bp = Blueprint("partner", __name__, url_prefix="/api/v1/partner")

MAX_FEED_PAGE = 10_000
MAX_QUERIES = 1_000
MAX_FEEDBACK = 1_000
_NUMBER = re.compile(r"[0-9]{1,18}")  # ASCII digits only (str.isdigit also takes "²")
_CURSOR = re.compile(r"([0-9]{1,18})\.([0-9]{1,18})\.([0-9a-f]{16})")


@bp.before_request
def authenticate():
    # Looked up on every request, never cached: a revoked token stops working at once.
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    partner = storage.partner_for_token(token.strip()) if scheme.lower() == "bearer" else None
    if partner is None:
        raise ApiError(401, "send a valid partner token: Authorization: Bearer <token>",
                       headers={"WWW-Authenticate": 'Bearer realm="takeback"'})
    g.partner_id = partner.id


def _begun_mac(begun):
    """A MAC of where a reader began: a made-up cursor cannot claim an earlier start and so
    get the tombstones of entries withdrawn before it began. Keyed with the server's random
    key (table pin_key, made once), in a domain of its own."""
    message = b"takeback feed cursor, begun at %d" % begun
    return hmac.new(storage.pin_key().encode(), message, hashlib.sha256).hexdigest()[:16]


def _entry_json(e, disputed):
    if e.status != ACTIVE:  # a tombstone: the hash itself is no longer handed out
        return {"id": e.id, "status": e.status, "updated": e.updated.isoformat()}
    return {
        "id": e.id, "type": e.type, "value": e.value, "quality": e.quality, "media": e.media,
        "status": e.status, "updated": e.updated.isoformat(), "disputed": disputed[e.id],
    }


def _entries_json(entries):
    disputed = storage.disputed(g.partner_id, entries)
    return [_entry_json(e, disputed) for e in entries]


@bp.get("/hashes")
def hashes():
    """The feed: every entry changed after the cursor, in change order, with the next cursor.

    The cursor (opaque to clients) is "S.B.M": S the change sequence of the last entry
    returned, B the feed's head when this reader started from the beginning, M a MAC of B.
    Entries withdrawn at or before B are never sent to it: it never held them. Every later
    withdrawal is sent as a tombstone, without the hash. An empty page returns the cursor:
    poll with it later.
    """
    for name, values in request.args.lists():  # a misspelt or repeated parameter is not silently ignored
        if name not in ("cursor", "limit"):
            raise ApiError(400, "unknown query parameter %r: only cursor and limit" % name)
        if len(values) > 1:
            raise ApiError(400, "%s given %d times" % (name, len(values)))
    cursor = request.args.get("cursor", "")
    limit = request.args.get("limit", "1000")
    if not (_NUMBER.fullmatch(limit) and 1 <= int(limit) <= MAX_FEED_PAGE):
        raise ApiError(400, "limit must be an integer from 1 to %d" % MAX_FEED_PAGE)
    parts = _CURSOR.fullmatch(cursor)
    if not cursor:
        after, begun = 0, storage.feed_head()  # read before the page: every seq up to it is committed
    elif parts and hmac.compare_digest(_begun_mac(int(parts[2])), parts[3]):
        after, begun = int(parts[1]), int(parts[2])
    elif _NUMBER.fullmatch(cursor):
        raise ApiError(400, "this cursor is from before the feed's ids were renumbered (migration 0004): "
                            "empty your copy of the feed and read it again from the beginning (no cursor)")
    else:
        raise ApiError(400, "cursor must be a next_cursor value from an earlier page")
    entries = storage.feed_page(after, begun, int(limit))
    # Nothing to send: every change up to `begun` was a withdrawal this reader skips.
    last = entries[-1].seq if entries else max(after, begun)
    return {"entries": _entries_json(entries), "next_cursor": "%d.%d.%s" % (last, begun, _begun_mac(begun))}


@bp.post("/match")
def match():
    body = json_body()
    require_fields(body, "the body", ("hashes",), ("max_distance",))
    queries = []
    for i, h in enumerate(list_field(body["hashes"], "hashes", 1, MAX_QUERIES)):
        try:
            queries.append(HashRecord.from_json(h))
        except RecordError as e:
            raise ApiError(400, "hashes[%d]: %s" % (i, e)) from None
    matcher = current_app.extensions["takeback_feed_matcher"]
    max_distance = current_app.config["PDQ_MATCH_DISTANCE"]
    if "max_distance" in body:  # at most what the indexes of a query PDQ's rules were made for (31)
        max_distance = int_field(body["max_distance"], "max_distance", 0, matcher.index.max_override)
    results = matching.match(matcher, queries, max_distance)
    ops.matched(results)
    return {
        "max_distance": max_distance,
        "results": [{"matches": [dict(j, distance=d) for j, (_, d) in zip(_entries_json([e for e, _ in found]), found)]}
                    for found in results],
    }


@bp.post("/feedback")
def feedback():
    """Reports on entries this partner was given, each naming the entry by id with its hash value
    (its receipt), or by hash type and value (what a matching tool such as threatexchange holds);
    rate-limited per partner, one report per partner and entry."""
    body = json_body()
    require_fields(body, "the body", ("feedback",))
    per_minute = current_app.config["FEEDBACK_PER_MINUTE"]
    items = []  # (number, entry id or hash type, value, outcome)
    for i, item in enumerate(list_field(body["feedback"], "feedback", 1, MAX_FEEDBACK)):
        if not isinstance(item, dict):
            raise ApiError(400, "feedback[%d] must be an object" % i)
        if ("id" in item) == ("type" in item):
            raise ApiError(400, "feedback[%d] must name its entry by \"id\" or by \"type\", exactly one of them" % i)
        if "id" in item:
            require_fields(item, "feedback[%d]" % i, ("id", "value", "outcome"))
            key = int_field(item["id"], "feedback[%d].id" % i, 1, 2**31 - 1)  # the id column is 32-bit
        else:
            require_fields(item, "feedback[%d]" % i, ("type", "value", "outcome"))
            if not isinstance(item["type"], str) or item["type"] not in SIGNAL_TYPES:
                raise ApiError(400, "feedback[%d].type must be one of %s" % (i, ", ".join(SIGNAL_TYPES)))
            key = item["type"]
        if not (isinstance(item["value"], str) and 1 <= len(item["value"]) <= 128):
            raise ApiError(400, "feedback[%d].value must be the entry's hash value, as the feed or a match gave it" % i)
        if item["outcome"] not in OUTCOMES:
            raise ApiError(400, "feedback[%d].outcome must be one of %s" % (i, ", ".join(OUTCOMES)))
        items.append((i, key, item["value"], item["outcome"]))
    if len(items) > per_minute:
        raise ApiError(400, "at most %d reports a minute: send fewer at once" % per_minute)
    reports = _resolve_hashes(items)
    try:
        storage.record_feedback(g.partner_id, reports, current_app.config["FEEDBACK_CLOCK"](), per_minute)
    except storage.NoReceipt as e:
        raise ApiError(403, "%s: report only on entries the feed or a match answer gave your platform, "
                            "with the entry's hash value; nothing was recorded" % e) from None
    except storage.RateLimited as e:
        raise ApiError(429, "at most %d reports a minute per platform; this one's are used up: send these in %d "
                            "seconds; nothing was recorded" % (per_minute, e.wait),
                       headers={"Retry-After": str(e.wait)}) from None
    ops.feedback_received([(entry_id, outcome) for entry_id, _, outcome in reports])
    return {"recorded": len(reports)}


def _resolve_hashes(items):
    """[(entry id, value, outcome)] from feedback items named by id or by hash type. A type and value
    resolve to the active feed entry with them, the one any partner's feed hands out (a hash is
    one entry); an unknown one is a 404 for the whole request, so nothing is recorded."""
    values: dict[str, list[str]] = {}
    for _, key, value, _ in items:
        if isinstance(key, str):
            values.setdefault(key, []).append(value)
    found = {(type_, value): e.id for type_, wanted in values.items()
             for value, e in storage.active_entries_by_value(type_, wanted).items()}
    reports = []
    for i, key, value, outcome in items:
        if isinstance(key, str):
            if (key, value) not in found:
                raise ApiError(404, "feedback[%d]: no entry in the feed has this %s value; nothing was recorded" % (i, key))
            key = found[key, value]
        reports.append((key, value, outcome))
    return reports
