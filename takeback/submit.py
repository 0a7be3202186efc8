"""Submitting a case from the command line (`takeback submit`), as the browser does: the files
are hashed here, only their hash records are sent, with proof of work (hashing.admission).

Standard library only (urllib): a person's machine needs no server packages to submit.
"""
import json
import urllib.error
import urllib.request
from collections.abc import Sequence

from hashing import MediaRecord, admission

TIMEOUT = 60  # seconds per request


class SubmitError(Exception):
    """The case was not submitted; the message says why."""


def _call(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> dict:
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET",
                                     headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as e:
        try:
            detail = json.loads(e.read()).get("detail") or e.reason
        except (ValueError, AttributeError):
            detail = e.reason
        raise SubmitError("the server answered %d: %s" % (e.code, detail)) from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise SubmitError("cannot reach the server at %s: %s" % (url, reason)) from None
    except ValueError:
        raise SubmitError("the server at %s did not answer with JSON: is it a Takeback server?" % url) from None


def case_body(records: Sequence[MediaRecord]) -> bytes:
    return json.dumps({"items": [r.to_json() for r in records]}).encode("utf-8")


def submit_case(server: str, records: Sequence[MediaRecord]) -> dict:
    """Submit one case of these records to `server` (its base URL); returns the receipt
    ({"case_id", "pin", "created", "items"}). Raises SubmitError."""
    base = server.rstrip("/")
    body = case_body(records)
    challenge = _call(base + "/api/v1/cases/challenge")
    if not isinstance(challenge.get("challenge"), str) or not isinstance(challenge.get("bits"), int):
        raise SubmitError("the server's challenge is malformed: is %s a Takeback server?" % server)
    if not 0 <= challenge["bits"] <= 32:  # 2**32 tries would take hours: refuse rather than hang
        raise SubmitError("the server asks for %d bits of work, more than this client does" % challenge["bits"])
    bits = admission.required_bits(challenge["bits"], sum(len(r.hashes) for r in records))
    nonce = admission.solve(challenge["challenge"], admission.body_digest(body), bits)
    return _call(base + "/api/v1/cases", body, {
        "Content-Type": "application/json", "X-Takeback-Challenge": challenge["challenge"],
        "X-Takeback-Work": str(nonce)})
