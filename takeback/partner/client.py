"""HTTP client for the partner API: the feed, feedback. Standard library only (urllib).

Errors become PartnerError with a sentence a platform engineer can act on. Server errors
(5xx) and 429 are retried with exponential backoff, honouring Retry-After; so are network
errors. A refused token (401) is never retried.
"""
import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

TOKEN_VARIABLE = "TAKEBACK_TOKEN"
USER_AGENT = "takeback-partner/0.1"


class PartnerError(Exception):
    """A partner-side failure with a clear message (bad token, unreachable server, ...)."""


class TokenRefused(PartnerError):
    """The server refused the token (401): wrong or revoked. Never retried."""


def token_from_environment(variable=TOKEN_VARIABLE):
    """The bearer token from the environment (never a command-line flag: shell histories keep those)."""
    token = os.environ.get(variable, "").strip()
    if not token:
        raise PartnerError("set %s to your partner token (an operator creates it with `takeback partners add NAME`)"
                           % variable)
    return token


class PartnerClient:
    def __init__(self, server, token, timeout=30.0, retries=5, backoff=1.0, max_wait=60.0, sleep=time.sleep):
        parts = urllib.parse.urlsplit(server)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise PartnerError("--server must be an http(s) URL such as https://takeback.example, got %r" % server)
        self.server = server.rstrip("/")
        self._token = token
        self.timeout, self.retries, self.backoff, self.max_wait = timeout, retries, backoff, max_wait
        self._sleep = sleep

    def __repr__(self):  # never show the token
        return "PartnerClient(%r)" % self.server

    def feed(self, cursor="", limit=1000):
        """One page of the hash feed: {"entries": [...], "next_cursor": "..."}."""
        query = urllib.parse.urlencode({"cursor": cursor or "", "limit": int(limit)})
        body = self._request("GET", "/api/v1/partner/hashes?" + query)
        if not isinstance(body, dict) or not isinstance(body.get("entries"), list) or "next_cursor" not in body:
            raise PartnerError("the server's feed answer is not what the partner API describes")
        return body

    def feedback(self, items):
        """Send [{"id": entry id, "value": its hash value, "outcome": ...}] (at most 1,000); how many
        the server recorded. A 429 (this platform's reports for the minute used up) is waited out."""
        body = self._request("POST", "/api/v1/partner/feedback", {"feedback": list(items)})
        return body["recorded"]

    def match(self, hashes, max_distance=None):
        """The server-side match API (hash records as JSON dicts); the local Matcher needs no server."""
        payload = {"hashes": list(hashes)}
        if max_distance is not None:
            payload["max_distance"] = max_distance
        return self._request("POST", "/api/v1/partner/match", payload)

    def _request(self, method, path, payload=None):
        url = self.server + path
        data = None if payload is None else json.dumps(payload).encode()
        headers = {"Authorization": "Bearer " + self._token, "Accept": "application/json", "User-Agent": USER_AGENT}
        if data is not None:
            headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            attempt += 1
            request = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as e:
                status, detail = e.code, _detail(e)
                if status == 401:
                    raise TokenRefused("the server refused the token (wrong or revoked): %s" % detail) from None
                if (status == 429 or status >= 500) and attempt <= self.retries:
                    self._sleep(self._wait(attempt, e.headers.get("Retry-After")))
                    continue
                if status == 429 or status >= 500:
                    raise PartnerError("%s %s failed with %d after %d attempts: %s"
                                       % (method, path.split("?")[0], status, attempt, detail)) from None
                raise PartnerError("%s %s: the server answered %d: %s" % (method, path.split("?")[0], status, detail)) from None
            except (urllib.error.URLError, socket.timeout, ConnectionError) as e:
                reason = getattr(e, "reason", e)
                if attempt <= self.retries:
                    self._sleep(self._wait(attempt, None))
                    continue
                raise PartnerError("cannot reach the server at %s after %d attempts: %s" % (self.server, attempt, reason)) from None
            except json.JSONDecodeError:
                raise PartnerError("%s %s: the server's answer is not JSON (is %s a Takeback server?)"
                                   % (method, path.split("?")[0], self.server)) from None

    def _wait(self, attempt, retry_after):
        wait = self.backoff * 2 ** (attempt - 1)
        if retry_after:
            try:
                wait = max(wait, float(retry_after))
            except ValueError:
                pass  # an HTTP date: keep the backoff
        return min(wait, self.max_wait)


def _detail(error):
    try:
        body = json.loads(error.read())
        return "%s (%s)" % (body.get("detail"), body.get("error"))
    except Exception:
        return error.reason or "HTTP %d" % error.code
