"""What every API endpoint shares: JSON errors, strict JSON bodies, security headers, private logs."""
import hashlib
import json
import logging
import re
from decimal import Decimal

import numpy as np
from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException

ERROR_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
    429: "too_many_requests", 500: "internal_error", 503: "busy",
}


# The largest request body. A photo's enrolment record (PDQ, up to 64 windows and
# rotations/flips, digests; ~57 hashes on the corpus, 67 at most) is ~9.3 KB of JSON as the
# page sends it (pretty-printed, so the person can read it first), 11 KB at most: a case of
# 100 photos (MAX_ITEMS_PER_CASE) is ~0.9-1.1 MB. A ten-minute video (200 frames) is at most ~116 KB.
BODY_LIMIT = 2 * 1024 * 1024


class ApiError(Exception):
    """Raised anywhere in a request: answered as {"error": code, "detail": text} with `status`."""

    def __init__(self, status, detail, code=None, headers=None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or ERROR_CODES.get(status, "error")
        self.headers = headers or {}


def error_response(status, detail, code=None, headers=None):
    response = jsonify(error=code or ERROR_CODES.get(status, "error"), detail=detail)
    response.status_code = status
    response.headers.update(headers or {})
    return response


# The deepest JSON body accepted (ours nest 4 deep). Python's json parser recurses once per level
# and fails with RecursionError near 1,000, so depth is measured before parsing, in linear time.
MAX_DEPTH = 64
# A JSON string, possibly unterminated (then it runs to the end): possessive, so each byte is
# looked at once whatever the quotes and backslashes (2 MiB of \" in ~0.2 s, of [] in ~0.07 s).
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _reject_constant(name):
    raise ValueError("%s is not valid JSON" % name)


def _number(text):
    """A JSON number with a fraction or exponent: an int if its value is whole (1.0, 1e2), as
    JSON Schema's "integer" counts it; else a float. Exact (Decimal); huge exponents stay floats."""
    number = float(text)
    if not number.is_integer():  # then neither is the exact value (the common case, kept fast)
        return number
    value = Decimal(text)  # 1.0000000000000000001 is a whole float but not a whole number
    if (value == 0 or abs(value.adjusted()) <= 18) and value == value.to_integral_value():
        return int(value)
    return number


def json_depth(raw):
    """How deep arrays and objects nest in `raw` (bytes), brackets inside strings not counted.

    For a malformed body it may count more than a parser would see, never less.
    """
    brackets = _STRING.sub(b"", raw).translate(None, delete=_NOT_BRACKETS)
    if not brackets:
        return 0
    steps = np.frombuffer(brackets, np.uint8)
    opens = (steps == ord("[")) | (steps == ord("{"))
    return max(0, int(np.cumsum(np.where(opens, 1, -1)).max()))


def json_body(digest=False):
    """The request's JSON object, or ApiError 413 / 415 / 400. The size is checked first.

    digest=True: (object, SHA-256 of the body's exact bytes), for proof of work (backend/admission.py).
    """
    limit = current_app.config["BODY_LIMIT"]
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "the body may be at most %d bytes" % limit)
    if request.mimetype != "application/json":
        raise ApiError(415, "send the body as Content-Type: application/json")
    # A body without Content-Length (chunked) is read through Werkzeug's stream, capped at
    # MAX_CONTENT_LENGTH = BODY_LIMIT + 1 bytes: one byte more than allowed means too large.
    raw = request.get_data(cache=False)
    if len(raw) > limit:
        raise ApiError(413, "the body may be at most %d bytes" % limit)
    if json_depth(raw) > MAX_DEPTH:
        raise ApiError(400, "the body nests arrays and objects more than %d deep" % MAX_DEPTH)
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_number)
    except (UnicodeDecodeError, ValueError) as e:
        raise ApiError(400, "the body is not valid JSON: %s" % e) from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return (body, hashlib.sha256(raw).digest()) if digest else body


def require_fields(obj, what, required=(), optional=()):
    missing = [k for k in required if k not in obj]
    if missing:
        raise ApiError(400, "%s is missing %r" % (what, missing[0]))
    unknown = sorted(set(obj) - set(required) - set(optional))
    if unknown:
        raise ApiError(400, "%s has unknown field %r" % (what, unknown[0]))


def int_field(value, what, low, high):
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ApiError(400, "%s must be an integer from %d to %d" % (what, low, high))
    return value


def list_field(value, what, low, high):
    if not isinstance(value, list) or not low <= len(value) <= high:
        raise ApiError(400, "%s must be a JSON array of %d to %d elements" % (what, low, high))
    return value


def _handle_api_error(e):
    return error_response(e.status, e.detail, e.code, e.headers)


def _handle_http_exception(e):
    if not request.path.startswith("/api/"):
        return e  # the frontend's pages keep Flask's own error pages
    status = e.code or 500
    detail = e.description if status != 500 else "the server failed; nothing was changed"
    allowed = getattr(e, "valid_methods", None)  # 405 says what is allowed
    return error_response(status, detail, headers={"Allow": ", ".join(allowed)} if allowed else None)


def _security_headers(response):
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if request.path.startswith("/api/") and "Cache-Control" not in response.headers:
        # Receipts and statuses must not linger in caches; an endpoint of public data (the
        # platform list) sets its own.
        response.headers["Cache-Control"] = "no-store"
    if "Content-Security-Policy" not in response.headers:
        # The frontend's pages set their own (stricter page) policy; API answers are never rendered.
        policy = "default-src 'none'; frame-ancestors 'none'" if request.path.startswith("/api/") else "frame-ancestors 'none'"
        response.headers["Content-Security-Policy"] = policy
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    return response


class PrivateRequestLog(logging.Filter):
    """Werkzeug's request log line starts with the client's address: drop it. Hide case ids in
    paths, here and in Flask's "Exception on /api/v1/cases/<id>" lines.

    "203.0.113.7 - - [25/Nov/2026 20:00:00] "GET /api/v1/cases/abc HTTP/1.1" 200 -" becomes
    "[25/Nov/2026 20:00:00] "GET /api/v1/cases/<case> HTTP/1.1" 200 -".
    """

    _ADDRESS = re.compile(r"^.*? - - (?=\[)")
    _CASE = re.compile(r"/cases/[^/\s\"?\x1b]+")

    def filter(self, record):
        message = record.getMessage()
        if " - - [" in message:
            message = self._ADDRESS.sub("", message, count=1)
        if "/cases/" in message:
            message = self._CASE.sub("/cases/<case>", message)
        if message != record.getMessage():
            record.msg, record.args = message, ()
        return True


def init_app(app):
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.after_request(_security_headers)
    for logger in (logging.getLogger("werkzeug"), app.logger):
        if not any(isinstance(f, PrivateRequestLog) for f in logger.filters):
            logger.addFilter(PrivateRequestLog())
