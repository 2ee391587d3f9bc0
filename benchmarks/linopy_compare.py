"""Build time of the national model's ratio rows (MODEL.md 4; about 95 % of its nonzeros)
with linopy against ``dpm.model.linear.LinearModel``, each handed to highspy: the measurement
behind the formulation decision in docs/model.md ("Why not linopy").

Needs linopy (not a dependency of dpm): ``pip install linopy``; then
``python benchmarks/linopy_compare.py``."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> None:
    import linopy
    import xarray as xr

    from dpm import load_case
    from dpm.model import formulation as f
    from dpm.model.allocation import build_aggregate_model
    from dpm.model.linear import LinearModel
    from dpm.model.projection import LIMITS
    from dpm.scenarios import path as package_path
    from dpm.solvers.highs import HighsSolver

    case = load_case(Path(str(package_path("nederland"))))
    rm = build_aggregate_model(case, tuple(case.regions), steun=True)
    proj = rm.projection
    C, H, n_dec = len(proj.ids), proj.layout.horizon_years, len(rm.model.variables["decision"]) // len(proj.ids)
    steun_slots = proj.layout.start("steun_in") + np.arange(H)
    times = {}

    # ours: the same variables and the four ratio row groups, then to highspy
    t = time.perf_counter()
    lm = LinearModel()
    lm.add_variables("decision", rm.model.variables["decision"].index)
    lm.add_variables("continuity_gap", rm.model.variables["continuity_gap"].index)
    money = (lm.add_variables("steun_in", rm.model.variables["steun_in"].index),
             lm.add_variables("steun_out", rm.model.variables["steun_out"].index))
    f.ratio_limits(lm, proj, money)
    times["LinearModel build"] = time.perf_counter() - t
    t = time.perf_counter()
    HighsSolver(lm, case.scenario.solver.options(), relaxed=True)
    times["LinearModel to highspy"] = time.perf_counter() - t
    size = lm.size()

    # linopy: labelled variables, expressions from aligned DataArrays
    t = time.perf_counter()
    m = linopy.Model()
    corp, year, slot = pd.Index(proj.ids, name="corporation"), pd.Index(proj.years, name="year"), pd.Index(np.arange(n_dec), name="slot")
    tau = pd.Index(proj.years, name="tau")
    z = m.add_variables(lower=0, coords=[corp, slot], name="decision")
    gap = m.add_variables(lower=0, coords=[corp, year, pd.Index(list(LIMITS), name="limit")], name="continuity_gap")
    s_in = m.add_variables(lower=0, coords=[corp, tau], name="steun_in")
    s_out = m.add_variables(lower=0, coords=[corp, tau], name="steun_out")
    for limit in LIMITS:
        affine = proj.headroom[limit] / 1e6
        coef = xr.DataArray(affine[:, :, 1:1 + n_dec], coords=[corp, year, slot])
        per_eur = xr.DataArray(proj.headroom[limit][:, :, 1 + steun_slots], coords=[corp, year, tau])
        lhs = (coef * z).sum("slot") + gap.sel(limit=limit) + (per_eur * s_in).sum("tau") - (per_eur * s_out).sum("tau")
        m.add_constraints(lhs >= xr.DataArray(-affine[:, :, 0], coords=[corp, year]), name=f.LIMIT_ROWS[limit])
    times["linopy build"] = time.perf_counter() - t
    t = time.perf_counter()
    m.to_highspy()
    times["linopy to highspy"] = time.perf_counter() - t

    lines = ["| step | seconds |", "|---|---|"] + [f"| {k} | {v:.2f} |" for k, v in times.items()]
    lines.append(f"\nratio rows of the national model: {size['constraints']:,} rows, {size['nonzeros']:,} nonzeros, "
                 f"{C} corporations x {H} years")
    text = "\n".join(lines)
    print(text)
    (Path(__file__).resolve().parent / "linopy.md").write_text(
        "# Ratio rows of the national model: linopy against LinearModel\n\n"
        "`python benchmarks/linopy_compare.py` (linopy installed), 2 cores.\n\n" + text + "\n")


if __name__ == "__main__":
    main()
