"""What an attacker's probe sent: deeply nested JSON and NUL bytes. A clear 400 (or the usual
404/401), never a 500, and nothing changes. Both databases (PostgreSQL refuses NUL in text)."""
import json
from urllib.parse import quote

import pytest

from backend.api import MAX_DEPTH, json_depth

from .conftest import media_record, read_feed, submit
from .test_api_cases import counts, stored_case

NESTED = {
    "arrays": "[" * 1000 + "]" * 1000,
    "objects": '{"a":' * 1000 + "1" + "}" * 1000,
    "items": '{"items": ' + "[" * 1000 + "]" * 1000 + "}",
    "unclosed": "[" * 100_000,
    "after a string": '{"items": "\\"", "x": ' + "[" * 1000 + "]" * 1000 + "}",
}
JSON_ENDPOINTS = ["/api/v1/cases", "/api/v1/cases/{case}/withdraw", "/api/v1/partner/match", "/api/v1/partner/feedback"]


def nested(depth, leaf="1"):
    return '{"items": ' + "[" * (depth - 1) + leaf + "]" * (depth - 1) + "}"


@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS)
@pytest.mark.parametrize("body", list(NESTED), ids=list(NESTED))
def test_deeply_nested_json_is_refused(app, client, partner, endpoint, body):
    receipt = submit(client, media_record(1))
    before = counts(app)
    headers = dict(partner, **{"X-Case-PIN": receipt["pin"]})
    response = client.post(endpoint.format(case=receipt["case_id"]), data=NESTED[body],
                           content_type="application/json", headers=headers)
    assert response.status_code == 400, response.get_data()[:200]
    assert response.get_json() == {"error": "bad_request",
                                   "detail": "the body nests arrays and objects more than %d deep" % MAX_DEPTH}
    assert counts(app) == before
    status = client.get("/api/v1/cases/" + receipt["case_id"], headers={"X-Case-PIN": receipt["pin"]})
    assert [i["status"] for i in status.get_json()["items"]] == ["active"]


def test_the_depth_limit_is_exact(client):
    # At the limit the body is parsed (and refused for what it says); one deeper is refused unread.
    at_limit = client.post("/api/v1/cases", data=nested(MAX_DEPTH), content_type="application/json")
    assert at_limit.status_code == 400 and "deep" not in at_limit.get_json()["detail"]
    assert "items[0]" in at_limit.get_json()["detail"]
    over = client.post("/api/v1/cases", data=nested(MAX_DEPTH + 1), content_type="application/json")
    assert over.status_code == 400 and "more than %d deep" % MAX_DEPTH in over.get_json()["detail"]


def test_brackets_inside_strings_do_not_count(client, partner):
    # A string full of brackets (and escaped quotes) is a value like any other: refused for its outcome.
    text = '\\"' + "[{" * 5000
    body = '{"feedback": [{"id": 1, "value": "00", "outcome": "%s"}]}' % text
    response = client.post("/api/v1/partner/feedback", data=body, content_type="application/json", headers=partner)
    assert response.status_code == 400 and "outcome must be one of" in response.get_json()["detail"]


@pytest.mark.parametrize("raw, depth", [
    (b"1", 0), (b"[]", 1), (b'{"a": [1, {"b": []}]}', 4), (b'"[[["', 0), (b'["]", "\\\\", "\\"[["]', 1),
    (b'"\\"' + b"[" * 10, 0),  # an unterminated string runs to the end: a parser never sees these
    (b'"a"' + b"[" * 10, 10), (b'"\\\\"' + b"[" * 10, 10),  # but after a closed string they count
    (b"]]]][[", 0),
])
def test_json_depth(raw, depth):
    assert json_depth(raw) == depth


def test_depth_agrees_with_the_parser():
    body = {"items": [media_record(1), {"deep": [[{"x": "[{\"]"}]]}]}
    assert json_depth(json.dumps(body).encode()) == 6


# -- NUL bytes in every text a client sends --------------------------------------------------------

CASE_ID = "7K3M-Q9XA-4TR1-Z0W1"
PIN = "123456789012"


def nul_requests(partner):
    """(method, path, body or None, headers) with a NUL where a client's text is taken."""
    record = media_record(7)
    pdq, md5 = record["hashes"][0], record["hashes"][1]
    pin = {"X-Case-PIN": PIN}
    return [
        ("GET", "/api/v1/cases/" + quote(CASE_ID + "\x00", safe=""), None, pin),
        ("GET", "/api/v1/cases/" + quote("\x00" + CASE_ID, safe=""), None, pin),
        ("GET", "/api/v1/cases/" + quote("A" * 21 + "\x00", safe=""), None, pin),
        ("POST", "/api/v1/cases/%s/withdraw" % quote(CASE_ID[:-1] + "\x00", safe=""), {}, pin),
        ("POST", "/api/v1/cases", {"items": [dict(record, media="image\x00")]}, {}),
        ("POST", "/api/v1/cases", {"items": [dict(record, hashes=[dict(md5, type="md5\x00")])]}, {}),
        ("POST", "/api/v1/cases", {"items": [dict(record, hashes=[dict(md5, value=md5["value"][:-1] + "\x00")])]}, {}),
        ("POST", "/api/v1/cases", {"items": [dict(record, **{"\x00": 1})]}, {}),
        ("POST", "/api/v1/cases", {"items": [record], "\x00": 1}, {}),
        ("GET", "/api/v1/partner/hashes?cursor=%00", None, partner),
        ("GET", "/api/v1/partner/hashes?cursor=1%00", None, partner),
        ("GET", "/api/v1/partner/hashes?limit=1%00", None, partner),
        ("GET", "/api/v1/partner/hashes?%00=1", None, partner),
        ("POST", "/api/v1/partner/match", {"hashes": [dict(pdq, value=pdq["value"][:-1] + "\x00")]}, partner),
        ("POST", "/api/v1/partner/match", {"hashes": [dict(pdq, type="pdq\x00")]}, partner),
        ("POST", "/api/v1/partner/feedback", {"feedback": [{"id": 1, "value": "00", "outcome": "removed\x00"}]}, partner),
        ("POST", "/api/v1/partner/feedback", {"feedback": [{"id": "1\x00", "value": "00", "outcome": "removed"}]}, partner),
        ("POST", "/api/v1/partner/feedback", {"feedback": [{"id": 1, "value": "00", "outcome": "removed", "\x00": 1}]}, partner),
        ("POST", "/api/v1/partner/feedback", {"feedback": [{"id": 1, "value": "00\x00", "outcome": "removed"}]}, partner),
        ("GET", "/api/v1/partner/hashes", None, {"Authorization": partner["Authorization"] + "\x00"}),
        ("GET", "/api/v1/partner/hashes", None, {"Authorization": "Bearer \x00"}),
    ]


def test_nul_bytes_are_refused_everywhere(app, client, partner):
    stored_case(app, CASE_ID, PIN)
    _, cursor = read_feed(client, partner)
    before = counts(app)
    for method, path, body, headers in nul_requests(partner):
        if body is None:
            response = client.open(path, method=method, headers=headers)
        else:
            response = client.open(path, method=method, headers=headers, json=body)
        assert response.status_code in (400, 401, 403, 404), (method, path, body, response.get_data()[:200])
        assert set(response.get_json()) == {"error", "detail"}
    assert counts(app) == before
    assert read_feed(client, partner, cursor)[0] == []


# -- integers: JSON has one number type, so 90.0 is the integer 90 (as JSON Schema says) -------


def test_integer_valued_numbers_count_as_integers(client, partner):
    record = media_record(1)
    record["hashes"][0]["quality"] = 90.0
    receipt = submit(client, record)
    entries, _ = read_feed(client, partner)
    assert {e["quality"] for e in entries if e["type"] == "pdq"} == {90}
    response = client.post("/api/v1/partner/match", headers=partner,
                           json={"hashes": [record["hashes"][0]], "max_distance": 1e1})
    assert response.status_code == 200 and response.get_json()["max_distance"] == 10
    entry = next(e for e in entries if e["type"] == "pdq")
    response = client.post("/api/v1/partner/feedback", headers=partner, content_type="application/json",
                           data='{"feedback": [{"id": %d.0, "value": "%s", "outcome": "removed"}]}' % (entry["id"], entry["value"]))
    assert response.status_code == 200
    withdrawn = client.post("/api/v1/cases/%s/withdraw" % receipt["case_id"], headers={"X-Case-PIN": receipt["pin"]},
                            data='{"items": [1.0]}', content_type="application/json")
    assert withdrawn.status_code == 200 and withdrawn.get_json()["items"][0]["status"] == "withdrawn"


@pytest.mark.parametrize("body", [
    '{"hashes": [%s], "max_distance": 10.5}', '{"hashes": [%s], "max_distance": 1e400}',
    '{"hashes": [%s], "max_distance": 1e-400}', '{"hashes": [%s], "max_distance": 1%s}' % ("%s", "0" * 5000),
])
def test_fractions_and_huge_numbers_are_not_integers(client, partner, body):
    query = json.dumps(media_record(1)["hashes"][0])
    response = client.post("/api/v1/partner/match", headers=partner, data=body % query, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"] == "bad_request"


@pytest.mark.parametrize("query, word", [("cursor=0&limt=5", "'limt'"), ("limit=1&limit=2", "limit given 2 times"),
                                         ("cursor=&cursor=3", "cursor given 2 times"), ("%00=1", "'\\x00'")])
def test_the_feed_refuses_unknown_and_repeated_parameters(client, partner, query, word):
    """A misspelt parameter would otherwise be ignored silently (limt=5 giving 1,000 entries)."""
    submit(client, media_record(1))
    response = client.get("/api/v1/partner/hashes?" + query, headers=partner)
    assert response.status_code == 400 and word in response.get_json()["detail"], response.get_json()
