"""The OpenAPI 3.1 description of the API, served at /api/openapi.json. Tests validate real answers against it."""
from flask import Blueprint

from hashing import MEDIA_TYPES, SIGNAL_TYPES
from hashing.match import RULES
from hashing.records import MAX_HASHES_PER_MEDIA
from takeback.index import MAX_DISTANCE, PDQ_DISTANCE

from . import admission
from .api import BODY_LIMIT, ERROR_CODES, MAX_DEPTH
from .case_ids import ALPHABET
from .models import OUTCOMES
from .partner import MAX_FEED_PAGE, MAX_FEEDBACK, MAX_QUERIES

bp = Blueprint("docs", __name__)

_DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_HEX = {"type": "string", "pattern": "^[0-9a-f]+$"}
_SYMBOL = "[%s]" % ALPHABET
_NEW_CASE_ID = "%s{4}-%s{4}-%s{4}-%s{4}" % ((_SYMBOL,) * 4)
_OLD_CASE_ID = "[A-Za-z0-9_-]{22}"  # secrets.token_urlsafe(16), before Crockford ids
# "S.B.M" (backend/partner.py): opaque to clients, its MAC checked by the server.
_CURSOR = r"^[0-9]{1,18}\.[0-9]{1,18}\.[0-9a-f]{16}$"
_MAX_ITEMS = 100  # media items per case: create_app's MAX_ITEMS_PER_CASE


def _hash_record(signal):
    """One hash type's record: its exact length of lowercase hex; quality required for a perceptual
    type, absent (or null) for an exact one."""
    quality = {"type": "integer", "minimum": 0, "maximum": 100} if signal.perceptual else {"type": "null"}
    return {
        "type": "object", "additionalProperties": False,
        "required": ["type", "value", "quality"] if signal.perceptual else ["type", "value"],
        "properties": {
            "type": {"const": signal.name},
            "value": {"type": "string", "pattern": "^[0-9a-f]{%d}$" % signal.hex_length},
            "quality": quality,
        },
    }


def _ref(name):
    return {"$ref": "#/components/schemas/%s" % name}


def _json(schema):
    return {"content": {"application/json": {"schema": schema}}}


def _error(description):
    return dict(description=description, **_json(_ref("Error")))


def _report(key, schema):
    """A feedback item naming its entry by `key`: "id", or "type" (with the value)."""
    return {"type": "object", "additionalProperties": False, "required": [key, "value", "outcome"],
            "properties": {key: schema,
                           "value": {"type": "string", "minLength": 1, "maxLength": 128,
                                     "description": "The entry's hash value: the receipt that it was given to you."},
                           "outcome": {"type": "string", "enum": list(OUTCOMES)}}}


SCHEMAS = {
    "Error": {
        "type": "object", "additionalProperties": False, "required": ["error", "detail"],
        "properties": {"error": {"type": "string", "enum": sorted(set(ERROR_CODES.values()) | set(admission.CODES))},
                       "detail": {"type": "string"}},
    },
    "HashRecord": {
        "description": "; ".join(
            "%s: %d hex digits%s" % (t.name, t.hex_length, " and a quality 0-100" if t.perceptual else "")
            for t in SIGNAL_TYPES.values()),
        "oneOf": [_hash_record(t) for t in SIGNAL_TYPES.values()],
    },
    "MediaRecord": {
        "type": "object", "additionalProperties": False, "required": ["media", "hashes"],
        "properties": {
            "media": {"type": "string", "enum": list(MEDIA_TYPES)},
            "hashes": {"type": "array", "minItems": 1, "maxItems": MAX_HASHES_PER_MEDIA, "uniqueItems": True,
                       "items": _ref("HashRecord"),
                       "description": "No two hashes of one type and value (whatever their quality)."},
        },
    },
    "NewCase": {
        "type": "object", "additionalProperties": False, "required": ["items"],
        "properties": {"items": {"type": "array", "minItems": 1, "maxItems": _MAX_ITEMS, "items": _ref("MediaRecord")}},
    },
    "CaseReceipt": {
        "type": "object", "additionalProperties": False, "required": ["case_id", "pin", "created", "items"],
        "properties": {
            "case_id": {"type": "string", "pattern": "^%s$" % _NEW_CASE_ID,
                        "description": "16 random Crockford base32 symbols (80 bits) in groups of 4."},
            "pin": {"type": "string", "pattern": r"^\d{12}$", "description": "Shown once; only a scrypt verifier is stored."},
            "created": _DATE,
            "items": {"type": "array", "minItems": 1, "maxItems": _MAX_ITEMS, "items": {
                "type": "object", "additionalProperties": False, "required": ["item", "media", "status"],
                "properties": {
                    "item": {"type": "integer", "minimum": 1, "maximum": _MAX_ITEMS},
                    "media": {"type": "string", "enum": list(MEDIA_TYPES)},
                    "status": {"type": "string", "enum": ["active"]},
                },
            }},
        },
    },
    "CaseStatus": {
        "type": "object", "additionalProperties": False, "required": ["case_id", "created", "items"],
        "properties": {
            "case_id": {"type": "string", "pattern": "^(%s|%s)$" % (_NEW_CASE_ID, _OLD_CASE_ID),
                        "description": "The id as stored: XXXX-XXXX-XXXX-XXXX, or an older 22-character id."},
            "created": _DATE,
            "items": {"type": "array", "minItems": 1, "maxItems": _MAX_ITEMS, "items": {
                "type": "object", "additionalProperties": False, "required": ["item", "media", "status", "reports"],
                "properties": {
                    "item": {"type": "integer", "minimum": 1, "maximum": _MAX_ITEMS},
                    "media": {"type": "string", "enum": list(MEDIA_TYPES)},
                    "status": {"type": "string", "enum": ["active", "withdrawn"]},
                    "reports": {
                        "type": "object", "additionalProperties": False,
                        "required": ["matched", "removed", "not_removed"],
                        "description": "How many platforms reported a match, a removal, or a review without removal.",
                        "properties": {k: {"type": "integer", "minimum": 0} for k in ("matched", "removed", "not_removed")},
                    },
                },
            }},
        },
    },
    "Withdrawal": {
        "type": "object", "additionalProperties": False,
        "description": "{} withdraws the whole case; {\"items\": [1, 3]} the items numbered so.",
        "properties": {"items": {"type": "array", "minItems": 1, "maxItems": 10_000,
                                 "items": {"type": "integer", "minimum": 1},
                                 "description": "Item numbers of this case; another number is a 400."}},
    },
    "FeedEntry": {
        "type": "object", "additionalProperties": False,
        "required": ["id", "type", "value", "quality", "media", "status", "updated", "disputed"],
        "properties": {
            "id": {"type": "integer", "minimum": 1},
            "type": {"type": "string", "description": "A hash type (%s); new types may appear." % ", ".join(SIGNAL_TYPES)},
            "value": dict(_HEX, maxLength=128),
            "quality": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
            "media": {"type": "string", "enum": list(MEDIA_TYPES)},
            "status": {"type": "string", "enum": ["active"]},
            "updated": _DATE,
            "disputed": {"type": "boolean",
                         "description": "Another platform reviewed a match on it and found no violation."},
        },
    },
    "Tombstone": {
        "type": "object", "additionalProperties": False, "required": ["id", "status", "updated"],
        "description": "A withdrawn entry, without its hash: drop the entry with this id.",
        "properties": {"id": {"type": "integer", "minimum": 1}, "status": {"type": "string", "enum": ["withdrawn"]},
                       "updated": _DATE},
    },
    "FeedPage": {
        "type": "object", "additionalProperties": False, "required": ["entries", "next_cursor"],
        "properties": {
            "entries": {"type": "array", "maxItems": MAX_FEED_PAGE,
                        "items": {"oneOf": [_ref("FeedEntry"), _ref("Tombstone")]}},
            "next_cursor": {"type": "string", "pattern": _CURSOR},
        },
    },
    "MatchQuery": {
        "type": "object", "additionalProperties": False, "required": ["hashes"],
        "properties": {
            "hashes": {"type": "array", "minItems": 1, "maxItems": MAX_QUERIES, "items": _ref("HashRecord")},
            "max_distance": {"type": "integer", "minimum": 0, "maximum": PDQ_DISTANCE},
        },
    },
    "MatchResults": {
        "type": "object", "additionalProperties": False, "required": ["max_distance", "results"],
        "properties": {
            "max_distance": {"type": "integer", "minimum": 0},
            "results": {"type": "array", "minItems": 1, "maxItems": MAX_QUERIES, "items": {
                "type": "object", "additionalProperties": False, "required": ["matches"],
                "properties": {"matches": {"type": "array", "items": _ref("Match")}},
            }},
        },
    },
    "Feedback": {
        "type": "object", "additionalProperties": False, "required": ["feedback"],
        "properties": {"feedback": {"type": "array", "minItems": 1, "maxItems": MAX_FEEDBACK, "items": {
            "oneOf": [_report("id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}),
                      _report("type", {"type": "string", "enum": list(SIGNAL_TYPES),
                                       "description": "The entry's hash type: with the value, it names the active "
                                                      "feed entry holding that hash (404 if none)."})],
        }}},
    },
    "Platforms": {
        "type": "object", "additionalProperties": False, "required": ["platforms"],
        "properties": {"platforms": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["name"],
            "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100}},
        }}},
    },
    "FeedbackRecorded": {
        "type": "object", "additionalProperties": False, "required": ["recorded"],
        "properties": {"recorded": {"type": "integer", "minimum": 1, "maximum": MAX_FEEDBACK}},
    },
}
# A match is a feed entry plus its distance (FeedEntry forbids extra fields, so its fields are shared).
SCHEMAS["Match"] = {
    "type": "object",
    "required": SCHEMAS["FeedEntry"]["required"] + ["distance"],
    "properties": dict(SCHEMAS["FeedEntry"]["properties"],
                       distance={"type": "integer", "minimum": 0, "maximum": MAX_DISTANCE}),
    "additionalProperties": False,
}

# 12 digits, spaces and hyphens anywhere; anything else is the 404 of a wrong PIN.
_PIN = {"name": "X-Case-PIN", "in": "header", "required": True,
        "schema": {"type": "string", "pattern": "^[ -]*([0-9][ -]*){12}$", "maxLength": 64},
        "description": "The case's PIN (spaces and hyphens ignored). Never put it in the URL."}
# Every id a case can be found by (a Crockford id as typed, an old id) fits this; anything else is
# the 404 of an unknown id.
_CASE_ID = {"name": "case_id", "in": "path", "required": True,
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9 _-]{1,64}$"},
            "description": "As on the receipt, e.g. 7K3M-Q9XA-4TRB-ZW2H. Any case, hyphens and spaces "
                           "optional, I and L read as 1, O as 0. An older 22-character id exactly as given."}
_COMMON_ERRORS = {
    "400": _error("Malformed JSON, JSON nested more than %d deep, or a field that breaks the schema "
                  "(detail names it)." % MAX_DEPTH),
    "413": _error("Body over %d MiB, refused before it is read." % (BODY_LIMIT // 2**20)),
    "415": _error("Content-Type is not application/json."),
}
_PARTNER_ERRORS = {"401": dict(_error("Missing, wrong or revoked partner token."), headers={
    "WWW-Authenticate": {"required": True, "schema": {"type": "string", "const": 'Bearer realm="takeback"'}}})}
_RETRY_AFTER = {"Retry-After": {"required": True, "description": "Seconds.", "schema": {"type": "integer", "minimum": 1}}}
_CASE_ERRORS = {
    "404": _error("Unknown case id or wrong PIN: the same answer for both."),
    "429": dict(_error("Too many wrong PINs for this case: the next PIN for it is checked only after a delay; "
                       "Retry-After gives its seconds."), headers=_RETRY_AFTER),
    "503": dict(_error("The server is busy checking other PINs; nothing was checked or counted. Retry-After: 1."),
                headers=_RETRY_AFTER),
}

SPEC = {
    "openapi": "3.1.0",
    "info": {
        "title": "Takeback API", "version": "1",
        "description": "Anonymous cases of hash records, the partner feed, matching and feedback, and the "
                       "public list of participating platforms. "
                       "Every error is {\"error\", \"detail\"}; a failed request changes nothing.",
    },
    "paths": {
        "/api/v1/cases": {"post": {
            "summary": "Submit a case: hash records of one or more media items.",
            "description": "Needs proof of work for this exact body (docs/API.md): the headers "
                           "X-Takeback-Challenge (from /api/v1/cases/challenge) and X-Takeback-Work (the nonce).",
            "parameters": [{"name": h, "in": "header", "required": True, "schema": {"type": "string"}}
                           for h in ("X-Takeback-Challenge", "X-Takeback-Work")],
            "requestBody": dict(required=True, **_json(_ref("NewCase"))),
            "responses": dict({"201": dict(description="The receipt: case id and PIN (shown once).",
                                           **_json(_ref("CaseReceipt"))),
                               "409": _error("This proof of work was already spent (work_used)."),
                               "428": _error("No proof of work (work_required).")}, **_COMMON_ERRORS),
        }},
        "/api/v1/cases/challenge": {"get": {
            "summary": "A proof-of-work challenge for one new case: find a nonce with hashing.admission.solve.",
            "responses": {"200": dict(description="challenge (string), bits (zero bits needed), expires (UTC), "
                                      "required (whether the server checks the work).",
                                      **_json({"type": "object"}))},
        }},
        "/api/v1/cases/{case_id}": {"get": {
            "summary": "A case's status: per item, active or withdrawn, and what platforms reported.",
            "parameters": [_CASE_ID, _PIN],
            "responses": dict({"200": dict(description="The case.", **_json(_ref("CaseStatus")))}, **_CASE_ERRORS),
        }},
        "/api/v1/cases/{case_id}/withdraw": {"post": {
            "summary": "Withdraw the whole case or chosen items; platforms see it in the feed.",
            "parameters": [_CASE_ID, _PIN],
            "requestBody": dict(required=True, **_json(_ref("Withdrawal"))),
            "responses": dict({"200": dict(description="The case after withdrawal.", **_json(_ref("CaseStatus")))},
                              **_COMMON_ERRORS, **_CASE_ERRORS),
        }},
        "/api/v1/partner/hashes": {"get": {
            "summary": "The hash feed: every entry changed after the cursor, oldest change first.",
            "description": "Reading from any cursor returns every change after it, none skipped, also while "
                           "cases are created and withdrawn concurrently. An empty page returns the same cursor.",
            "security": [{"partnerToken": []}],
            "parameters": [
                {"name": "cursor", "in": "query", "required": False,
                 "schema": {"type": "string", "pattern": r"^([0-9]{1,18}\.[0-9]{1,18}\.[0-9a-f]{16})?$"},
                 "description": "next_cursor of the previous page; empty or absent for the beginning. A cursor "
                                "this server did not make (its MAC is wrong) is refused with 400."},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_FEED_PAGE, "default": 1000}},
            ],
            "responses": dict({"200": dict(description="A page of the feed.", **_json(_ref("FeedPage"))),
                               "400": _error("Bad cursor or limit.")}, **_PARTNER_ERRORS),
        }},
        "/api/v1/partner/match": {"post": {
            "summary": "Match up to 1,000 hash records against the active entries.",
            "description": "Digests match by equality. Perceptual hashes match the enrolled types the match "
                           "rules pair them with (hashing.match.RULES): %s. max_distance (default 31) replaces "
                           "the distance of the rows for a query of type pdq. A weak hash (quality < 50) never "
                           "matches. Results are in query order, nearest first; each match's type is the "
                           "enrolled entry's." % "; ".join(
                               "a query %s matches an enrolled %s within %d bits" % (q, e, d)
                               for (e, q), d in RULES.items()),
            "security": [{"partnerToken": []}],
            "requestBody": dict(required=True, **_json(_ref("MatchQuery"))),
            "responses": dict({"200": dict(description="Matches per query.", **_json(_ref("MatchResults")))},
                              **_COMMON_ERRORS, **_PARTNER_ERRORS),
        }},
        "/api/v1/partner/feedback": {"post": {
            "summary": "Report outcomes for feed entries; the last word per platform and entry counts.",
            "security": [{"partnerToken": []}],
            "requestBody": dict(required=True, **_json(_ref("Feedback"))),
            "responses": dict({"200": dict(description="Recorded.", **_json(_ref("FeedbackRecorded"))),
                               "403": _error("An entry with this id and value was never given to you."),
                               "404": _error("No active feed entry has this hash type and value."),
                               "429": _error("This platform's reports for this minute are used up; "
                                             "Retry-After gives the seconds.")},
                              **_COMMON_ERRORS, **_PARTNER_ERRORS),
        }},
        "/api/v1/platforms": {"get": {
            "summary": "The participating platforms the operator made public, by name, for the app's help screen.",
            "description": "No login. Only public, unrevoked partners; sorted by name ignoring case. "
                           "Cache-Control: public, max-age=300.",
            "responses": {"200": dict(description="The list.", **_json(_ref("Platforms")))},
        }},
        "/api/openapi.json": {"get": {
            "summary": "This description.",
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}},
        }},
    },
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {"partnerToken": {"type": "http", "scheme": "bearer",
                                             "description": "One token per platform, from `takeback partners add`."}},
    },
}


@bp.get("/api/openapi.json")
def openapi():
    return SPEC
