"""Numerics: money enters the model in EUR mln (MONEY_SCALE), so the matrix, row bounds and
column bounds stay in a range HiGHS handles without trouble, on the default case and on a
large synthetic region (40 corporations, the largest woondeal regions' size)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import DEFAULT_CASE

from dpm.model.allocation import build_region_model
from dpm.model.case import load_case

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from synthetic import synthetic_region  # noqa: E402

# Limits: coefficients within [1e-7, 1e4] (a ratio of at most 1e11 and in practice ~1e8:
# EUR mln per home next to whole homes), bounds and right-hand sides at most 1e7. In EUR,
# not EUR mln, the ratio rows alone would hold coefficients of 1e5 and bounds of 1e10.
MATRIX = (1e-7, 1e4)
BOUND_MAX = 1e7


@pytest.fixture(scope="module", params=["voorbeeldregio", "synthetic-40"])
def case(request, tmp_path_factory):
    if request.param == "voorbeeldregio":
        return load_case(DEFAULT_CASE)
    return load_case(synthetic_region(40, tmp_path_factory.mktemp("syn") / "case"))


@pytest.mark.parametrize("aggregate", [False, True], ids=["full", "aggregate"])
def test_coefficients_stay_in_a_narrow_range(case, aggregate):
    model = build_region_model(case, tuple(case.regions), aggregate=aggregate).model
    r = model.ranges()
    assert MATRIX[0] <= r["matrix"][0] and r["matrix"][1] <= MATRIX[1], r
    assert r["row_bounds"][1] <= BOUND_MAX, r
    assert r["column_bounds"][1] <= BOUND_MAX, r


def test_without_money_scaling_the_range_check_fails(monkeypatch):
    """The check above is not vacuous: with money in EUR it fails."""
    import dpm.model.allocation as allocation

    monkeypatch.setattr(allocation, "MONEY_SCALE", 1.0)
    case = load_case(DEFAULT_CASE)
    r = build_region_model(case, tuple(case.regions)).model.ranges()
    assert r["matrix"][1] > MATRIX[1] or r["row_bounds"][1] > BOUND_MAX
