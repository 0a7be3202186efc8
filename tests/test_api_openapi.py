"""/api/openapi.json describes every endpoint, and real answers follow it."""
import json
import re
from urllib.parse import quote

import jsonschema_rs
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from backend import storage

from .conftest import media_record, read_feed, submit
from .test_api_cases import stored_case


def spec_of(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def check(spec, response, path, method):
    """Validate a real response against the spec's schema for that path, method and status."""
    responses = spec["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in responses, "%s %s answered %s, which the spec does not list" % (method, path, status)
    pointer = "/".join(["paths", path.replace("~", "~0").replace("/", "~1"), method, "responses", status,
                        "content", "application~1json", "schema"])
    validator = validator_for(spec, pointer)
    errors = [e.message for e in validator.iter_errors(response.get_json())]
    assert errors == [], (method, path, status, errors)


def test_spec_is_openapi_3_1_with_valid_schemas(client):
    spec = spec_of(client)
    assert spec["openapi"].startswith("3.1")
    for schema in spec["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_spec_lists_every_api_route(app, client):
    spec = spec_of(client)
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    described = {(path, method) for path, methods in spec["paths"].items() for method in methods}
    assert routes == described


def test_responses_follow_the_spec(app, client, partner):
    spec = spec_of(client)
    case = "/api/v1/cases/{case_id}"
    withdraw = "/api/v1/cases/{case_id}/withdraw"

    created = client.post("/api/v1/cases", json={"items": [media_record(1), media_record(2, media="video")]})
    check(spec, created, "/api/v1/cases", "post")
    receipt = created.get_json()
    pin = {"X-Case-PIN": receipt["pin"]}
    check(spec, client.post("/api/v1/cases", json={"items": []}), "/api/v1/cases", "post")
    check(spec, client.post("/api/v1/cases", data="x", content_type="text/plain"), "/api/v1/cases", "post")
    check(spec, client.post("/api/v1/cases", data=b"x" * 300_000, content_type="application/json"),
          "/api/v1/cases", "post")

    check(spec, client.get("/api/v1/cases/" + receipt["case_id"], headers=pin), case, "get")
    check(spec, client.get("/api/v1/cases/" + receipt["case_id"], headers={"X-Case-PIN": "1"}), case, "get")
    typed = receipt["case_id"].lower().replace("-", " ")
    check(spec, client.get("/api/v1/cases/" + quote(typed), headers=pin), case, "get")
    old = stored_case(app, "A1b2C3d4E5f6G7h8I9j0-_")  # an id made before Crockford ids
    check(spec, client.get("/api/v1/cases/" + old["case_id"], headers={"X-Case-PIN": old["pin"]}), case, "get")

    platforms = client.get("/api/v1/platforms")
    assert platforms.get_json() == {"platforms": []}
    check(spec, platforms, "/api/v1/platforms", "get")
    with app.app_context():
        storage.add_partner("ExampleTube", public=True)
    platforms = client.get("/api/v1/platforms")
    assert platforms.get_json() == {"platforms": [{"name": "ExampleTube"}]}
    check(spec, platforms, "/api/v1/platforms", "get")

    entries, cursor = read_feed(client, partner)
    feed = client.get("/api/v1/partner/hashes", query_string={"limit": 2}, headers=partner)
    check(spec, feed, "/api/v1/partner/hashes", "get")
    check(spec, client.get("/api/v1/partner/hashes?limit=0", headers=partner), "/api/v1/partner/hashes", "get")
    check(spec, client.get("/api/v1/partner/hashes"), "/api/v1/partner/hashes", "get")

    matched = client.post("/api/v1/partner/match", headers=partner, json={"hashes": media_record(1)["hashes"]})
    assert all(r["matches"] for r in matched.get_json()["results"])
    check(spec, matched, "/api/v1/partner/match", "post")
    check(spec, client.post("/api/v1/partner/match", headers=partner, json={}), "/api/v1/partner/match", "post")

    reports = [{"id": e["id"], "value": e["value"], "outcome": "removed"} for e in entries[:3]]
    given = client.post("/api/v1/partner/feedback", headers=partner, json={"feedback": reports})
    check(spec, given, "/api/v1/partner/feedback", "post")
    forged = client.post("/api/v1/partner/feedback", headers=partner, json={"feedback": [dict(reports[0], value="0")]})
    assert forged.status_code == 403
    check(spec, forged, "/api/v1/partner/feedback", "post")
    check(spec, client.post("/api/v1/partner/feedback", json={}), "/api/v1/partner/feedback", "post")

    check(spec, client.post("/api/v1/cases/%s/withdraw" % receipt["case_id"], json={"items": [9]}, headers=pin),
          withdraw, "post")
    withdrawn = client.post("/api/v1/cases/%s/withdraw" % receipt["case_id"], json={"items": [1]}, headers=pin)
    check(spec, withdrawn, withdraw, "post")
    assert withdrawn.get_json()["items"][0]["reports"]["removed"] == 1
    changed = client.get("/api/v1/partner/hashes", query_string={"cursor": cursor}, headers=partner)
    check(spec, changed, "/api/v1/partner/hashes", "get")
    assert {e["status"] for e in changed.get_json()["entries"]} == {"withdrawn"}


def test_the_check_itself_can_fail(client):
    """A response that breaks the schema is caught (the validator is really looking)."""
    spec = spec_of(client)
    receipt = submit(client, media_record(1))

    class Fake:
        status_code = 201

        @staticmethod
        def get_json():
            return dict(receipt, pin=12345)

    with pytest.raises(AssertionError):
        check(spec, Fake, "/api/v1/cases", "post")


def test_case_id_patterns(client):
    """Receipts carry new ids only; a case's status may carry either form, as stored."""
    schemas = spec_of(client)["components"]["schemas"]
    receipt = re.compile(schemas["CaseReceipt"]["properties"]["case_id"]["pattern"])
    stored = re.compile(schemas["CaseStatus"]["properties"]["case_id"]["pattern"])
    new, old = submit(client, media_record(1))["case_id"], "A1b2C3d4E5f6G7h8I9j0-_"
    assert receipt.search(new) and stored.search(new) and stored.search(old)
    for wrong in (old, new.lower(), new.replace("-", ""), new[:-1] + "U"):
        assert not receipt.search(wrong)
    assert not stored.search(new.lower()) and not stored.search(old + "x")


def validator_for(spec, pointer):
    registry = Registry().with_resource("urn:takeback:openapi", Resource.from_contents(spec, DRAFT202012))
    return Draft202012Validator({"$ref": "urn:takeback:openapi#/" + pointer}, registry=registry)


def hash_record_variants():
    """Records of every hash type: right, and wrong in each way the server checks."""
    from hashing import SIGNAL_TYPES

    for t in SIGNAL_TYPES.values():
        good = {"type": t.name, "value": "a" * t.hex_length}
        if t.perceptual:
            good["quality"] = 90
        yield good
        yield dict(good, value="a" * (t.hex_length - 1))
        yield dict(good, value="a" * (t.hex_length + 1))
        yield dict(good, value="A" * t.hex_length)
        yield dict(good, value="g" * t.hex_length)
        yield dict(good, value="a" * (t.hex_length - 1) + "\n")
        yield dict(good, extra=1)
        yield dict(good, type=t.name.upper())
        yield dict(good, quality=None)
        yield dict(good, quality=0)
        yield dict(good, quality=100)
        yield dict(good, quality=101)
        yield dict(good, quality=-1)
        yield dict(good, quality=50.5)
        yield dict(good, quality=True)
        yield dict(good, quality="90")
        yield {k: v for k, v in good.items() if k != "quality"}
        yield {k: v for k, v in good.items() if k != "value"}


def test_spec_and_server_agree_on_hash_records(client, partner):
    """Each record the HashRecord schema allows the server takes, and each it refuses the server refuses."""
    validator = validator_for(spec_of(client), "components/schemas/HashRecord")
    variants = list(hash_record_variants())
    for record in variants:
        response = client.post("/api/v1/partner/match", headers=partner, json={"hashes": [record]})
        assert response.status_code in (200, 400), response.get_json()
        assert validator.is_valid(record) == (response.status_code == 200), (record, response.get_json())
    assert 0 < sum(map(validator.is_valid, variants)) < len(variants)


@pytest.mark.parametrize("cursor", ["", "given", "0", "7", "9" * 18, "1.0", "1.2.0123456789abcdeg", "1.2.0123456789abcde",
                                    "1.2.0123456789abcdef0", "-1.2.0123456789abcdef", "1.2.0123456789ABCDEF", "1e3", "²",
                                    " 1", "1.2.0123456789abcdef\n", "\x00"])
def test_spec_and_server_agree_on_the_cursor(client, partner, cursor):
    spec = spec_of(client)
    parameter = next(p for p in spec["paths"]["/api/v1/partner/hashes"]["get"]["parameters"] if p["name"] == "cursor")
    if cursor == "given":  # a next_cursor the server gave
        cursor = client.get("/api/v1/partner/hashes", headers=partner).get_json()["next_cursor"]
    # jsonschema_rs (Schemathesis' validator) reads patterns as ECMA-262 does, as OpenAPI 3.1 says: "$" is
    # the end of the text. Python's re, which the jsonschema package uses, also lets "$" match before a
    # final newline, so it would take a cursor ending in "\n".
    allowed = jsonschema_rs.validator_for(parameter["schema"]).is_valid(cursor)
    response = client.get("/api/v1/partner/hashes", query_string={"cursor": cursor}, headers=partner)
    assert (response.status_code == 200) == allowed, response.get_json()


@pytest.mark.parametrize("number, integer", [("3", True), ("3.0", True), ("3e0", True), ("30e-1", True), ("-0.0", True),
                                             ("3.5", False), ("1e400", False)])
def test_spec_and_server_agree_on_integers(client, partner, number, integer):
    """JSON Schema counts 3.0 as an integer; so does the server. 3.5 is not one for either. (Nor is 1e-400
    for the server, which reads numbers exactly; a validator reading it as the float 0.0 would say it is.)"""
    body = '{"hashes": [{"type": "md5", "value": "%s"}], "max_distance": %s}' % ("a" * 32, number)
    schema = spec_of(client)["components"]["schemas"]["MatchQuery"]["properties"]["max_distance"]
    assert Draft202012Validator(schema).is_valid(json.loads(body)["max_distance"]) == integer
    response = client.post("/api/v1/partner/match", headers=partner, data=body, content_type="application/json")
    assert (response.status_code == 200) == integer, response.get_json()
