"""Investment room (handreiking step 2): for each corporation of the default case and each
tradeable type, the MIP confirms the reported room: alone in a region with only its
instandhouding, it fills exactly that many homes of the type (in the same year profile),
and with one home more at least one stays unfilled."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import DEFAULT_CASE

from dpm.model.case import load_case
from dpm.model.projection import Projection
from dpm.model.room import investment_room, profiles, spread
from dpm.nationwide import solve_regional

CASE = load_case(DEFAULT_CASE)
ROOM = investment_room(CASE)
CORPS = pd.read_csv(DEFAULT_CASE / "corporations.csv", dtype=str, keep_default_na=False)


def _alone(tmp_path, cid: str, kind: str, homes: int):
    """A case of corporation ``cid`` alone with ``homes`` of ``kind`` in the room's profile."""
    proj = Projection(CASE.corporations, CASE.scenario)
    shares, _ = profiles(CASE, proj, kind)
    per_year = spread(np.array([float(homes)]), shares[[list(proj.ids).index(cid)]])[0]
    folder = tmp_path / f"{cid}-{kind}-{homes}"
    folder.mkdir()
    CORPS[CORPS["corporation_id"] == cid].to_csv(folder / "corporations.csv", index=False)
    years = CASE.scenario.policy_calendar_years
    pd.DataFrame({"region": "Voorbeeldregio", "corporation_id": cid, "type": kind, "year": years,
                  "homes": per_year.astype(int)}).to_csv(folder / "opgave.csv", index=False)
    (folder / "scenario.toml").write_text((DEFAULT_CASE / "scenario.toml").read_text())
    outcome = solve_regional(load_case(folder), ("Voorbeeldregio",))  # stages 1-2 (MODEL.md 5)
    assert outcome.stages[0].objective == 0  # no continuity gap
    return outcome.unfilled


@pytest.mark.parametrize("row", ROOM.index, ids=[f"{r.corporation_id}-{r.type}" for r in ROOM.itertuples()])
def test_reported_room_fits_and_one_home_more_does_not(tmp_path, row):
    r = ROOM.loc[row]
    assert r["homes"] > 0
    assert _alone(tmp_path, r["corporation_id"], r["type"], r["homes"]) == 0
    assert _alone(tmp_path, r["corporation_id"], r["type"], r["homes"] + 1) >= 1


def test_room_table_names_its_units_and_binding_limit():
    assert len(ROOM) == len(CASE.corporations) * 3
    assert set(ROOM["binding_limit"]) <= {"icr", "ltv", "solvency", "guarantee"}
    first, last = CASE.scenario.years[0], CASE.scenario.years[-1]
    assert ROOM["binding_year"].between(first, last).all()
    # room in EUR is the homes' investment: at least the base-year cost per home
    unit = ROOM["type"].map({k: CASE.scenario.types[k].investment_per_home_eur for k in ROOM["type"].unique()})
    assert (ROOM["investment_eur"] >= ROOM["homes"] * unit).all()


def test_a_corporation_already_breaking_a_norm_has_no_room(tmp_path):
    corp = CASE.corporations.copy()
    corp.loc["V04", "debt_eur"] = corp.loc["V04", "beleidswaarde_eur"] * 0.9  # LTV 90 % > 85 %
    broken = investment_room(type(CASE)(CASE.name, CASE.path, CASE.scenario, corp, CASE.opgave, CASE.werkgebied))
    v04 = broken[broken["corporation_id"] == "V04"]
    assert (v04["homes"] == 0).all() and (v04["binding_limit"] == "ltv").all()
    assert (v04["binding_year"] == CASE.scenario.years[0]).all()
