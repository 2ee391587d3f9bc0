"""Explanations that can be checked: a limit the diagnosis names as binding is one whose small
relaxation (EUR 1 mln more room in that year) fills more homes; relaxing a limit that does
not bind fills none. Exact optima (homes_gap = 0) so that differences are real."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import DEFAULT_CASE

import dpm.regional
from dpm.explain import sentences
from dpm.model.formulation import LIMIT_ROWS
from dpm.model.case import load_case

EXACT = {"solver": {"homes_gap": 0.0}}
CASE = load_case(DEFAULT_CASE, EXACT)


def _unfilled(monkeypatch=None, relax=None) -> int:
    """Unfilled homes of the default case; ``relax`` = (corporation, year, limit): that row
    gets EUR 1 mln (1.0 in the model's EUR mln) more room, in every model the run builds."""
    if relax is not None:
        cid, year, limit = relax
        build = dpm.regional.build_region_model

        def relaxed(*args, **kwargs):
            rm = build(*args, **kwargs)
            names = list(rm.model.constraints)
            k = names.index(LIMIT_ROWS[limit])
            block = rm.model.constraints[LIMIT_ROWS[limit]]
            lower = np.array(rm.model._row["lb"][k], dtype=float)
            lower[block.index.get_loc((cid, year))] -= 1.0
            rm.model._row["lb"][k] = lower
            return rm
        monkeypatch.setattr(dpm.regional, "build_region_model", relaxed)
    run = dpm.regional.run_case(CASE)
    return run.components[0].objectives["unfilled_homes"], run


BASE, RUN = _unfilled()
EXPLANATION = RUN.components[0].explanation
DIAGNOSIS = RUN.components[0].diagnosis


def test_every_unfilled_home_has_a_reason():
    short = RUN.components[0].shortfall
    assert set(map(tuple, short[["region", "type"]].drop_duplicates().to_numpy())) == \
        set(map(tuple, DIAGNOSIS[["region", "type"]].drop_duplicates().to_numpy()))
    assert len(sentences(DIAGNOSIS)) == len(short[["region", "type"]].drop_duplicates())
    named = DIAGNOSIS.dropna(subset=["limit"])
    assert not named.empty and (named["shadow_price_homes_per_eur_mln"] > 0).all()


def test_named_binding_limits_fill_more_homes_when_relaxed(monkeypatch):
    named = DIAGNOSIS.dropna(subset=["limit"]).drop_duplicates(["taker", "limit", "year"])
    for r in named.itertuples():
        relaxed, _ = _unfilled(monkeypatch, (r.taker, int(r.year), r.limit))
        assert relaxed < BASE, (r.taker, r.limit, r.year)
        monkeypatch.undo()


@pytest.mark.parametrize("pick", ["same corporation, other limit", "other corporation, same limit"])
def test_relaxing_a_limit_that_does_not_bind_fills_none(monkeypatch, pick):
    named = DIAGNOSIS.dropna(subset=["limit"]).iloc[0]
    free = EXPLANATION[~EXPLANATION["binds"] & (EXPLANATION["year"] == named["year"])]
    if pick == "same corporation, other limit":
        row = free[(free["corporation_id"] == named["taker"]) & (free["limit"] != named["limit"])].iloc[0]
    else:
        row = free[(free["corporation_id"] != named["taker"]) & (free["limit"] == named["limit"])].iloc[0]
    relaxed, _ = _unfilled(monkeypatch, (row["corporation_id"], int(row["year"]), row["limit"]))
    assert relaxed == BASE


def test_explanation_rows_and_units():
    c = CASE.corporations
    assert len(EXPLANATION) == len(c) * len(CASE.scenario.years) * 4
    ltv = EXPLANATION[EXPLANATION["limit"] == "ltv"]
    assert np.allclose(ltv["headroom"], ltv["norm"] - ltv["value"])
    assert set(EXPLANATION["unit"]) == {"x", "fraction", "EUR"}
    # binding rows have little room left: less than the debt of a few hundred homes
    binding = EXPLANATION[EXPLANATION["binds"] & (EXPLANATION["gap_eur"] == 0)]
    assert (binding["headroom_debt_eur"] < 50e6).all()


def test_a_sentence_names_few_origins_with_their_homes_and_many_as_a_count():
    """A region of 40 corporations short of nieuwbouw gets one readable line: the three largest
    shortfalls with their homes and a count of the rest; ties in the order of their ids."""
    from dpm.explain import _whose
    label = "C{}".format
    one = pd.DataFrame({"origin": ["a", "a"], "homes": [3, 4]})
    assert _whose(one, label) == "Ca"
    two = pd.DataFrame({"origin": ["a", "b", "b"], "homes": [1, 1000, 234]})
    assert _whose(two, label) == "Cb (1,234) and Ca (1)"
    many = pd.DataFrame({"origin": [f"o{i:02d}" for i in range(40)], "homes": [10] * 37 + [50, 70, 70]})
    assert _whose(many, label) == "40 corporations (most: Co38 with 70, Co39 with 70, Co37 with 50; 37 more)"


def test_a_sentence_counts_one_corporation_in_the_singular():
    """Four takers at a limit (three named, "1 more corporation is") and one with room ("1 other
    corporation has"): the sentence agrees with its count."""
    from types import SimpleNamespace

    from dpm.explain import diagnose
    ids = ["a", "b", "c", "d", "e"]
    rm = SimpleNamespace(case=SimpleNamespace(corporations=pd.DataFrame({"name": list("ABCDE")}, index=ids)),
                         moves=pd.DataFrame({"origin": "a", "executor": ids, "type": "nieuwbouw"}))
    shortfall = pd.DataFrame({"region": "R", "type": "nieuwbouw", "origin": ["a"], "year": [2030], "homes": [12],
                              "value_eur": [1.0]})
    limits = pd.DataFrame({"corporation_id": ids[:4], "limit": "icr", "norm": 1.4, "year": 2031, "binds": True,
                           "shadow_price_homes_per_eur_mln": [4.0, 3.0, 2.0, 1.0]})
    sentence = diagnose(rm, shortfall, limits)["sentence"].iloc[0]
    assert "; and 1 more corporation is at a limit; 1 other corporation has room left" in sentence
    limits = pd.concat([limits, limits.iloc[[0]].assign(corporation_id="e", shadow_price_homes_per_eur_mln=0.5)])
    assert "; and 2 more corporations are at a limit." in diagnose(rm, shortfall, limits)["sentence"].iloc[0]
