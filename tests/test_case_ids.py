"""Case ids: 16 Crockford base32 symbols in groups of 4, read back forgivingly."""
import re

import pytest

from backend.case_ids import ALPHABET, canonical, new_case_id

SHAPE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}")


def test_new_ids_are_16_crockford_symbols_in_groups_of_4():
    ids = [new_case_id() for _ in range(300)]
    assert len(set(ids)) == 300
    assert all(SHAPE.fullmatch(i) for i in ids)
    assert all(canonical(i) == i for i in ids)
    assert set("".join(ids).replace("-", "")) == set(ALPHABET)  # every symbol turns up, no other
    assert len(ALPHABET) == 32 and not set("ILOU") & set(ALPHABET)


@pytest.mark.parametrize("typed", [
    "7K3M-Q9XA-4TR1-Z0W1",
    "7k3m-q9xa-4tr1-z0w1",
    "7K3MQ9XA4TR1Z0W1",
    "7k3m q9xa 4tr1 z0w1",
    " 7K3M - Q9XA-4TR1 Z0W1 ",
    "7K3M-Q9XA-4TRI-ZOWL",
    "7k3m q9xa 4trl zowi",
])
def test_spellings_of_one_id(typed):
    assert canonical(typed) == "7K3M-Q9XA-4TR1-Z0W1"


@pytest.mark.parametrize("typed", [
    "", "----", "7K3M-Q9XA-4TR1-Z0W", "7K3M-Q9XA-4TR1-Z0W1-A", "7K3M-Q9XA-4TR1-Z0WU",
    "7K3M_Q9XA_4TR1_Z0W1", "7K3M-Q9XA-4TR1-Z0W\u0131",  # dotless i: upper() would make it I
    "7K3M-Q9XA-4TR1-Z0W\x00", "7K3M\tQ9XA\t4TR1\tZ0W1", "7" * 10_000, None, 7,
    "A1b2C3d4E5f6G7h8I9j0-_",  # an old token_urlsafe id: not rewritten
])
def test_what_is_not_a_crockford_id(typed):
    assert canonical(typed) is None
