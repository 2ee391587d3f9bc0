"""Numerics: money enters the model in EUR mln (MONEY_SCALE), so the matrix, row bounds and
column bounds stay in a range HiGHS handles without trouble, on the default case, on a large
synthetic region (40 corporations) and on the national case's solidarity model."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import DEFAULT_CASE

from dpm.model.allocation import build_region_model
from dpm.model.case import load_case
from dpm.scenarios import path as package_path

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from synthetic import synthetic_region  # noqa: E402

# Limits: coefficients within [1e-7, 1e4] (a ratio of at most 1e11 and in practice ~1e8:
# EUR mln per home next to whole homes), bounds and right-hand sides at most 1e7. In EUR,
# not EUR mln, the ratio rows alone would hold coefficients of 1e5 and bounds of 1e10.
MATRIX = (1e-7, 1e4)
BOUND_MAX = 1e7


CASES = {}


def _case(name: str, tmp_path_factory):
    if name not in CASES:
        if name == "voorbeeldregio":
            CASES[name] = load_case(DEFAULT_CASE)
        elif name == "nederland":
            CASES[name] = load_case(package_path("nederland"))
        else:
            CASES[name] = load_case(synthetic_region(40, tmp_path_factory.mktemp("syn") / "case"))
    return CASES[name]


@pytest.mark.parametrize("name, aggregate", [("voorbeeldregio", False), ("voorbeeldregio", True),
                                             ("synthetic-40", False), ("synthetic-40", True), ("nederland", True)])
def test_coefficients_stay_in_a_narrow_range(tmp_path_factory, name, aggregate):
    """For the national case: the national solidarity model (all 279 corporations, with money)."""
    case = _case(name, tmp_path_factory)
    national = name == "nederland"
    model = build_region_model(case, tuple(case.regions), aggregate=aggregate, steun=national).model
    r = model.ranges()
    assert MATRIX[0] <= r["matrix"][0] and r["matrix"][1] <= MATRIX[1], r
    assert r["row_bounds"][1] <= BOUND_MAX, r
    assert r["column_bounds"][1] <= BOUND_MAX, r


def test_without_money_scaling_the_range_check_fails(monkeypatch):
    """The check above is not vacuous: with money in EUR it fails."""
    import dpm.model.formulation as formulation

    monkeypatch.setattr(formulation, "MONEY_SCALE", 1.0)
    case = load_case(DEFAULT_CASE)
    r = build_region_model(case, tuple(case.regions)).model.ranges()
    assert r["matrix"][1] > MATRIX[1] or r["row_bounds"][1] > BOUND_MAX
