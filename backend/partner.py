"""The partner API for platforms: the hash feed, matching, and feedback. Bearer token per platform."""
import re

from flask import Blueprint, current_app, g, request

from hashing import HashRecord, RecordError

from . import matching, ops, storage
from .api import ApiError, int_field, json_body, list_field, require_fields
from .models import OUTCOMES

bp = Blueprint("partner", __name__, url_prefix="/api/v1/partner")

MAX_FEED_PAGE = 10_000
MAX_QUERIES = 1_000
MAX_FEEDBACK = 1_000
_NUMBER = re.compile(r"[0-9]{1,18}")  # ASCII digits only (str.isdigit also takes "²")


@bp.before_request
def authenticate():
    # Looked up on every request, never cached: a revoked token stops working at once.
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    partner = storage.partner_for_token(token.strip()) if scheme.lower() == "bearer" else None
    if partner is None:
        raise ApiError(401, "send a valid partner token: Authorization: Bearer <token>",
                       headers={"WWW-Authenticate": 'Bearer realm="takeback"'})
    g.partner_id = partner.id


def _entry_json(e):
    return {
        "id": e.id, "type": e.type, "value": e.value, "quality": e.quality, "media": e.media,
        "status": e.status, "updated": e.updated.isoformat(), "not_violating": e.not_violating,
    }


@bp.get("/hashes")
def hashes():
    """The feed: every entry changed after the cursor, in change order, with the next cursor.

    The cursor is the change sequence of the last entry returned (opaque to clients). An
    empty page returns the same cursor: poll with it later.
    """
    for name, values in request.args.lists():  # a misspelt or repeated parameter is not silently ignored
        if name not in ("cursor", "limit"):
            raise ApiError(400, "unknown query parameter %r: only cursor and limit" % name)
        if len(values) > 1:
            raise ApiError(400, "%s given %d times" % (name, len(values)))
    cursor = request.args.get("cursor", "")
    if cursor and not _NUMBER.fullmatch(cursor):
        raise ApiError(400, "cursor must be a next_cursor value from an earlier page")
    limit = request.args.get("limit", "1000")
    if not (_NUMBER.fullmatch(limit) and 1 <= int(limit) <= MAX_FEED_PAGE):
        raise ApiError(400, "limit must be an integer from 1 to %d" % MAX_FEED_PAGE)
    entries = storage.feed_after(int(cursor or 0), int(limit))
    next_cursor = str(entries[-1].seq) if entries else (cursor or "0")
    return {"entries": [_entry_json(e) for e in entries], "next_cursor": next_cursor}


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
        "results": [{"matches": [dict(_entry_json(e), distance=d) for e, d in found]} for found in results],
    }


@bp.post("/feedback")
def feedback():
    body = json_body()
    require_fields(body, "the body", ("feedback",))
    outcomes = []
    for i, item in enumerate(list_field(body["feedback"], "feedback", 1, MAX_FEEDBACK)):
        if not isinstance(item, dict):
            raise ApiError(400, "feedback[%d] must be an object" % i)
        require_fields(item, "feedback[%d]" % i, ("id", "outcome"))
        entry_id = int_field(item["id"], "feedback[%d].id" % i, 1, 2**31 - 1)  # the id column is 32-bit
        if item["outcome"] not in OUTCOMES:
            raise ApiError(400, "feedback[%d].outcome must be one of %s" % (i, ", ".join(OUTCOMES)))
        outcomes.append((entry_id, item["outcome"]))
    try:
        storage.record_feedback(g.partner_id, outcomes)
    except storage.NotFound as e:
        raise ApiError(400, "feedback: %s" % e) from None
    ops.feedback_received(outcomes)
    return {"recorded": len(outcomes)}
