"""Admission of new cases by proof of work: a flood costs its sender, not the people waiting.

Nobody is identified (no accounts, no addresses), so what a case costs is work: the client gets
a challenge (GET /api/v1/cases/challenge), finds a nonce with hashing.admission.solve for the
exact body it will send, and sends both with the case (X-Takeback-Challenge, X-Takeback-Work).
A challenge is "v1.<issued>.<bits>.<mac>": an HMAC under a random key kept in the database
(the same for every server process), so the server stores nothing until the work is spent.
Each challenge + body is spent once (storage.spend_work), so a solution cannot be replayed.
"""
import hashlib
import hmac
from datetime import datetime, timezone

from flask import Blueprint, current_app, request

from hashing import admission

from . import storage
from .api import ApiError

bp = Blueprint("admission", __name__, url_prefix="/api/v1/cases")

HOW = "get a challenge from GET /api/v1/cases/challenge and send its solution for this exact body " \
      "in the X-Takeback-Challenge and X-Takeback-Work headers (docs/API.md)"


def _mac(issued, bits):
    return hmac.new(bytes.fromhex(storage.work_key()), b"v1.%d.%d" % (issued, bits), hashlib.sha256).hexdigest()[:32]


def new_challenge(now):
    config = current_app.config
    issued, bits = int(now), config["ADMISSION_BITS"]
    expires = issued + config["ADMISSION_CHALLENGE_SECONDS"]
    return {"challenge": "v1.%d.%d.%s" % (issued, bits, _mac(issued, bits)), "bits": bits,
            "expires": datetime.fromtimestamp(expires, timezone.utc).isoformat().replace("+00:00", "Z")}


# The error codes of refused work (the OpenAPI lists them with the others).
CODES = ("work_required", "work_invalid", "work_expired", "work_used")


def _work_error(status, code, detail):
    return ApiError(status, "%s; %s" % (detail, HOW), code=code)


def require_work():
    """428 at once for a request without work: its body is never read."""
    if not request.headers.get("X-Takeback-Challenge") or not request.headers.get("X-Takeback-Work"):
        raise _work_error(428, "work_required", "a new case needs proof of work")


def check(digest, hashes, now):
    """Raise ApiError unless the request carries unspent work for the body of this digest (a
    case of `hashes` hash records); then spend it. Called after the body is read and checked,
    so a refused body spends nothing."""
    require_work()
    challenge = request.headers["X-Takeback-Challenge"]
    nonce = request.headers["X-Takeback-Work"]
    parts = challenge.split(".")
    if (len(parts) != 4 or parts[0] != "v1" or not all(p.isascii() and p.isdigit() and len(p) <= 12 for p in parts[1:3])
            or not hmac.compare_digest(parts[3].encode("ascii", "replace"), _mac(int(parts[1]), int(parts[2])).encode())):
        raise _work_error(400, "work_invalid", "X-Takeback-Challenge is not a challenge this server gave")
    issued, bits = int(parts[1]), int(parts[2])
    expires = issued + current_app.config["ADMISSION_CHALLENGE_SECONDS"]
    if not issued - 60 <= now <= expires:  # a minute's grace for clocks of other server processes
        raise _work_error(400, "work_expired", "the challenge has expired")
    bits = admission.required_bits(bits, hashes)
    if not admission.verify(challenge, digest, bits, nonce):
        raise _work_error(400, "work_invalid", "X-Takeback-Work does not solve the challenge for this body "
                          "(%d zero bits for a case of %d hash records)" % (bits, hashes))
    spent = hashlib.sha256(challenge.encode("ascii") + b"\n" + digest).hexdigest()
    if not storage.spend_work(spent, expires, now):
        raise _work_error(409, "work_used", "this work was already spent on a case")


@bp.get("/challenge")
def challenge():
    # Issued even when admission is off (tests, development), so clients need no second path.
    return dict(new_challenge(current_app.config["CLOCK"]()), required=current_app.config["ADMISSION"])
