"""Every row group of the formulation (model/formulation.py), on two-corporation cases, equals
its reviewed LP-format baseline in tests/test_model/lp_files/<model>/<group>.lp, as Calliope's
tests/math/lp_files do. A change to a group shows up as a readable diff of that group's rows.

After an intended change, write the new baselines with ``DPM_UPDATE_LP=1 pytest
tests/test_model/test_formulation.py`` and review the diff before committing it."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from conftest import write_case

from dpm.model import formulation as f
from dpm.model.allocation import build_aggregate_model, build_full_model
from dpm.model.case import load_case
from dpm.model.linear import lp_text
from dpm.model.solidarity import Roles

BASELINES = Path(__file__).parent / "lp_files"
SCENARIO = """base_year = 2025
[horizon]
policy_years = 2
horizon_years = 3
[allocation]
min_transfer = 2
max_partners = 1
"""
OPGAVE = [
    {"region": "R1", "corporation_id": "A", "type": "nieuwbouw", "year": 2026, "homes": 3},
    {"region": "R1", "corporation_id": "A", "type": "flex", "year": 2027, "homes": 2},
    {"region": "R1", "corporation_id": "A", "type": "verduurzaming", "year": 2026, "homes": 2},
    {"region": "R1", "corporation_id": "B", "type": "sloop_nieuwbouw", "year": 2027, "homes": 4},
]


def _models(tmp_path: Path) -> dict:
    """The models whose groups are kept: the full and aggregate model of one region of two
    corporations (with money following projects, and with roles), the aggregate model of two
    linked regions, and the national pool."""
    corps = [{"corporation_id": "A", "region": "R1", "debt_eur": 8.6e6},
             {"corporation_id": "B", "region": "R1", "debt_eur": 8.0e6}]
    one = load_case(write_case(tmp_path / "one", corps, OPGAVE, SCENARIO), {"money": {"timing": "projects"}})
    linked_corps = [{**corps[0], "werkgebied": "R2"}, {**corps[1], "region": "R2"}]
    linked_opgave = [{**row, "region": "R1" if row["corporation_id"] == "A" else "R2"} for row in OPGAVE]
    linked = load_case(write_case(tmp_path / "linked", linked_corps, linked_opgave, SCENARIO))
    full = build_full_model(one, ("R1",), steun=True, roles=Roles(("A",), ("B",)))
    aggregate = build_aggregate_model(one, ("R1",), steun=True)
    f.pool_balance(aggregate.model, one.scenario.years)
    return {"full": full.model, "aggregate": aggregate.model,
            "linked": build_aggregate_model(linked, ("R1", "R2")).model}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return _models(tmp_path_factory.mktemp("lp"))


GROUPS = {
    "full": ["unfilled_balance", "decision_link", "transfer_link", "min_transfer", "max_partners", "giver_cover",
             "taker_cover", "icr_floor", "ltv_cap", "solvency_floor", "guarantee_cap", "steun_follows_projects"],
    "aggregate": ["executor_balance", "decision_link", "pool_balance"],
    "linked": ["executor_balance", "serve_link", "decision_link"],
}


@pytest.mark.parametrize("model, group", [(m, g) for m, groups in GROUPS.items() for g in groups])
def test_each_row_group_equals_its_baseline(models, model, group):
    text = lp_text(models[model], group)
    path = BASELINES / model / f"{group}.lp"
    if os.environ.get("DPM_UPDATE_LP"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no baseline {path}: write it with DPM_UPDATE_LP=1 and review it"
    assert text == path.read_text(encoding="utf-8")


def test_every_group_of_the_models_has_a_baseline(models):
    """A new row group cannot slip in without its baseline (the ratio rows and the money cap
    of the aggregate models are those of the full model's functions, kept once)."""
    kept = {g for groups in GROUPS.values() for g in groups}
    for name, lm in models.items():
        assert set(GROUPS[name]) <= set(lm.constraints), name
        assert set(lm.constraints) <= kept, name


def test_solve_time_groups_read_as_rows(models):
    """The groups a solve adds later are written the same way."""
    lm = models["full"]
    cost = lm.cost({"unfilled": 1.0})
    text = lp_text(lm, f.unfilled_limit(cost, 3.0))
    assert text.startswith("unfilled_limit[unfilled_limit]: +1 unfilled[A,flex,2027] ")
    assert text.rstrip().endswith("<= 3")
    assert text.count("unfilled[") == int(np.count_nonzero(cost))
