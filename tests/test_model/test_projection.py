"""The financial projection (MODEL.md 4): by hand, and against an independent reference."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import write_case
from reference import reference_projection

from dpm.model.case import load_case
from dpm.model.projection import Projection

HAND_SCENARIO = """
base_year = 2025
[horizon]
policy_years = 1
horizon_years = 2
[economy]
rent_growth = 0.0
cost_inflation = 0.0
construction_inflation = 0.0
market_rate = 0.04
discount_rate_start = 0.06
discount_rate = 0.06
long_run_rent_growth = 0.02
vacancy_loss = 0.0
[types.nieuwbouw]
investment_per_home_eur = 200000
rent_per_home_eur = 9000
opex_per_home_eur = 2000
beleidswaarde_per_home_eur = 120000
[costs]
demolition_per_home_eur = 20000
verduurzaming_per_home_eur = 30000
improvement_per_home_eur = 550
instandhouding_rebuild_rate = 0.01
instandhouding_whole_homes = true
verduurzaming_rent_increase_per_home_eur = 240
verduurzaming_opex_saving_per_home_eur = 150
verduurzaming_value_per_home_eur = 9750
"""


def test_hand_computed_two_years(tmp_path):
    """One corporation, 10 nieuwbouw homes and 20 verduurzaming in 2026 (policy year),
    2027 is a continuity year with a 1 % instandhouding rebuild. Arithmetic:

    2026: rent = 8000*1000 = 8,000,000; opex = (3000 + 500 taxes)*1000 = 3,500,000; OCF = 4,500,000
          interest = 0.04*50e6 + (0.03-0.04)*50e6 = 1,500,000                      (ICR 3.0)
          investment = 200,000*10 + 30,000*20 + 550*1000 = 3,150,000
          debt = 50e6 + 3,150,000 + 1,500,000 - 4,500,000 = 50,150,000
          BW = 1.0 * (100,000*1000 + 120,000*10 + 9,750*20 sustainable) = 101,395,000  (v = 1)
    2027: rebuild = 1 % of 1000 = 10 homes (whole), the 10 new and 20 sustainable homes now count
          rent = 8000*1000 + 9000*10 + 240*20 = 8,094,800
          opex = 3000*1000 + 2000*10 - 150*20 + 500*1010 = 3,522,000; OCF = 4,572,800
          interest = 0.04*50,150,000 + (0.03-0.04)*(0.9*50e6) = 1,556,000
          investment = 20,000*10 (demolition) + 200,000*10 (rebuild) + 550*1010 = 2,755,500
          debt = 50,150,000 + 2,755,500 + 1,556,000 - 4,572,800 = 49,888,700
          BW = 100,000*990 + 120,000*(10+10) + 9,750*20 = 101,595,000
    """
    case = write_case(tmp_path / "hand", [{
        "corporation_id": "A", "homes": 1000, "rent_per_home_eur": 8000, "opex_per_home_eur": 3000,
        "taxes_per_home_eur": 500, "debt_eur": 50_000_000, "interest_rate": 0.03, "runoff": 0.1,
        "beleidswaarde_eur": 100_000_000, "guaranteed_share": 1.0}],
        [{"region": "R", "corporation_id": "A", "type": "nieuwbouw", "year": 2026, "homes": 10}], HAND_SCENARIO)
    proj = Projection(load_case(case).corporations, load_case(case).scenario)
    z = np.zeros((1, proj.layout.slots))
    z[0, proj.layout.slot("build:nieuwbouw", 1)] = 10
    z[0, proj.layout.slot("verduurzaming", 1)] = 20
    table = proj.evaluate(z).set_index("year")
    expected = {
        2026: {"rent_eur": 8_000_000, "opex_eur": 3_500_000, "ocf_eur": 4_500_000, "interest_eur": 1_500_000,
               "investment_eur": 3_150_000, "debt_eur": 50_150_000, "beleidswaarde_eur": 101_395_000, "icr": 3.0,
               "homes": 1010},
        2027: {"rent_eur": 8_094_800, "opex_eur": 3_522_000, "ocf_eur": 4_572_800, "interest_eur": 1_556_000,
               "investment_eur": 2_755_500, "debt_eur": 49_888_700, "beleidswaarde_eur": 101_595_000,
               "homes": 1010},
    }
    for year, values in expected.items():
        for col, value in values.items():
            assert table.at[year, col] == pytest.approx(value, abs=1e-6), (year, col)
    assert table.at[2026, "ltv"] == pytest.approx(50_150_000 / 101_395_000)
    assert table.at[2027, "solvency"] == pytest.approx((101_595_000 - 49_888_700) / 101_595_000)


def test_affine_projection_equals_reference_on_default_case():
    """Every corporation of the default case, with an arbitrary allocation of homes per type and
    year, equals the plain loop of MODEL.md 4 in tests/reference.py."""
    case = load_case(__import__("conftest").DEFAULT_CASE)
    proj = Projection(case.corporations, case.scenario)
    rng = np.random.default_rng(7)
    lay = proj.layout
    z = np.zeros((len(proj.ids), lay.slots))
    for block in ("build:nieuwbouw", "build:flex", "build:sloop_nieuwbouw", "demolish", "verduurzaming"):
        for t in range(1, lay.policy_years + 1):
            z[:, lay.slot(block, t)] = rng.integers(0, 300, len(proj.ids))
    table = proj.evaluate(z)
    years = case.scenario.years
    for i, cid in enumerate(proj.ids):
        corp = case.corporations.loc[cid].to_dict()
        slot = lambda b, t: z[i, lay.slot(b, t)]  # noqa: E731
        built = {k: {years[t - 1]: slot(f"build:{k}", t) for t in range(1, lay.policy_years + 1)}
                 for k in ("nieuwbouw", "flex", "sloop_nieuwbouw")}
        dem = {years[t - 1]: slot("demolish", t) for t in range(1, lay.policy_years + 1)}
        verd = {years[t - 1]: slot("verduurzaming", t) for t in range(1, lay.policy_years + 1)}
        ref = pd.DataFrame(reference_projection(corp, case.scenario.raw, case.scenario.base_year, built, dem, verd))
        mine = table[table["corporation_id"] == cid].reset_index(drop=True)
        for col in ref.columns:
            np.testing.assert_allclose(mine[col].to_numpy(float), ref[col].to_numpy(float), rtol=1e-9,
                                       err_msg=f"{cid} {col}")
