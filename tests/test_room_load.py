"""The rooms' store under load (benchmarks/room_load.py, short): every accepted send on the wall exactly once."""

import sys

import pytest

from helpers import ROOT


@pytest.fixture(scope="module")
def load():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from room_load import run

    return run


@pytest.mark.parametrize("kind", [pytest.param("sqlite", marks=pytest.mark.unit), "postgresql"])
def test_a_crowd_of_phones_loses_nothing(load, kind, request):
    db = None if kind == "sqlite" else request.getfixturevalue("postgres")
    res = load(visitors=40, every=3.0, seconds=9.0, db=db, replicas=2, threads=4, walls=2)
    print(res)
    assert res["accepted"] >= 40 * 3 and res["on_wall"] == res["accepted"]  # each phone sent 3 times
    assert res["lost"] == res["doubled"] == res["not_accepted_but_shown"] == 0
    assert set(res["refused"]) == {"TooFast"} and res["refused"]["TooFast"] >= 4  # the rude phones, told why
    assert res["seen_on_a_wall"] > 0 and res["wall_update"]["n"] > 0
