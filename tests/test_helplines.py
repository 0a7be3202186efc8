"""frontend/public/helplines.json: the data behind the Help screen (docs/HELP.md).

Operators edit the file by hand; these checks keep an edit from breaking the screen or
showing something that cannot be dialled or opened. Standard library only.
"""
import json
import re
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parent.parent / "frontend" / "public" / "helplines.json"
KINDS = {"talk", "report", "remove"}
AGES = {"all", "under18", "adult"}
LANGUAGES = {"en", "es", "fr", "pt-BR", "de", "it", "pl", "ar", "hi", "uk"}
SERVICE_KEYS = {"name", "kind", "ages", "url", "phone", "text", "source"}
REQUIRED_KEYS = {"name", "kind", "ages", "url", "source"}
NUMBER = re.compile(r"^[0-9 +\-()]+$")
COUNTRY = re.compile(r"^[A-Z]{2}$")


@pytest.fixture(scope="module")
def data():
    with PATH.open(encoding="utf-8") as f:
        return json.load(f)


def all_services(data):
    """(where, service) for every service: "international" or the country code."""
    yield from (("international", s) for s in data["international"])
    for code, services in data["countries"].items():
        yield from ((code, s) for s in services)


def test_file_is_small():
    assert PATH.stat().st_size < 40 * 1024


def test_top_level_shape(data):
    assert set(data) == {"version", "updated", "note", "default_country", "international", "countries"}
    assert data["version"] == 1
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", data["updated"])
    assert isinstance(data["note"], str) and data["note"].strip()
    assert isinstance(data["international"], list) and data["international"]
    assert isinstance(data["countries"], dict) and data["countries"]


def test_country_codes(data):
    for code, services in data["countries"].items():
        assert COUNTRY.fullmatch(code), code
        assert isinstance(services, list), code
        assert 2 <= len(services) <= 5, f"{code}: {len(services)} services (keep 2-5)"


def test_default_countries(data):
    defaults = data["default_country"]
    assert set(defaults) == LANGUAGES
    for language, code in defaults.items():
        assert code in data["countries"], f"default_country.{language} = {code} has no entry in countries"


def test_services(data):
    for where, service in all_services(data):
        label = f"{where}: {service.get('name')!r}"
        assert isinstance(service, dict), label
        assert REQUIRED_KEYS <= set(service) <= SERVICE_KEYS, f"{label}: keys {sorted(service)}"
        assert isinstance(service["name"], str) and service["name"].strip(), label
        assert service["kind"] in KINDS, label
        assert service["ages"] in AGES, label
        for key in ("url", "source"):
            assert isinstance(service[key], str) and service[key].startswith("https://"), f"{label}: {key}"
            assert not re.search(r"\s", service[key]), f"{label}: {key} has whitespace"
        for key in ("phone", "text"):
            if key in service:
                value = service[key]
                assert isinstance(value, str) and NUMBER.fullmatch(value), f"{label}: {key} {value!r}"
                assert re.search(r"\d", value), f"{label}: {key} has no digit"


def test_no_duplicate_names(data):
    lists = {"international": data["international"], **data["countries"]}
    for where, services in lists.items():
        names = [s["name"].strip().casefold() for s in services]
        assert len(names) == len(set(names)), f"{where}: duplicate names"
