"""Why the result is what it is (MODEL.md 7): per corporation, year and limit the headroom,
whether the limit binds and what one more EUR mln of room on it is worth in homes; per
region and type the reason every unfilled home stays unfilled.

Shadow prices come from the LP of the unfilled stage with the integer decisions fixed at the
solution: the transfer relations and the continuity gaps are fixed, the homes are made
continuous (fixing them too would leave nothing to price). A row's dual is then the number of
(weighted) homes that relaxing that limit, in that year, by EUR 1 mln would fill.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from dpm.model.allocation import RegionModel
from dpm.model.formulation import LIMIT_ROWS
from dpm.model.projection import LIMITS
from dpm.model.scenario import TRADEABLE
from dpm.solvers.backends import make_solver

BINDS = 1e-6  # homes per EUR mln: a smaller shadow price is solver round-off
LIMIT_NAMES = {"icr": "ICR", "ltv": "LTV", "solvency": "solvency", "guarantee": "guaranteed debt"}
UNITS = {"icr": "x", "ltv": "fraction", "solvency": "fraction", "guarantee": "EUR"}


def shadow_prices(rm: RegionModel, x: np.ndarray, options: dict) -> tuple[pd.Series, str | None]:
    """Homes filled per EUR mln of extra room, per (corporation_id, year, limit); and a
    warning if the LP did not end optimal (the prices are then NaN: unknown, not zero)."""
    lm = rm.model
    x = lm.solution(x).x
    solver = make_solver(lm, options, relaxed=True)
    for name in ("transfer", "continuity_gap"):
        ids = lm.variables[name].ids
        solver.fix_columns(ids, np.round(x[ids]) if name == "transfer" else x[ids])
    solver.set_objective(rm.stages()[1].cost)
    out = solver.solve()
    warning = None
    if out.status == "optimal":
        duals = lm.solution(out.x, solver.row_duals()).duals
    else:
        duals = lm.solution(x, np.full(lm.n_rows, np.nan)).duals
        warning = (f"{' + '.join(rm.regions)}: the shadow-price LP ended with status {out.status}; shadow prices "
                   "are left empty and 'binds' in explanation.csv only marks broken limits")
    parts = []
    for limit in LIMITS:
        price = duals[LIMIT_ROWS[limit]].clip(lower=0.0)  # NaN (unknown) stays NaN
        parts.append(price.to_frame("price")
                     .assign(limit=limit).set_index("limit", append=True)["price"])
    return pd.concat(parts).sort_index(), warning


def limit_table(projection: pd.DataFrame, prices: pd.Series) -> pd.DataFrame:
    """explanation.csv: one row per corporation, year and limit."""
    p = projection
    own = {
        "icr": (p["icr"], p["icr_min"], p["icr"] - p["icr_min"]),
        "ltv": (p["ltv"], p["ltv_max"], p["ltv_max"] - p["ltv"]),
        "solvency": (p["solvency"], p["solvency_min"], p["solvency"] - p["solvency_min"]),
        "guarantee": (p["guaranteed_debt_eur"], p["guarantee_cap_eur"], p["guarantee_cap_eur"] - p["guaranteed_debt_eur"]),
    }
    parts = []
    for limit in LIMITS:
        value, norm, head = own[limit]
        parts.append(pd.DataFrame({
            "corporation_id": p["corporation_id"], "region": p["region"], "year": p["year"], "limit": limit,
            "value": value, "norm": norm, "headroom": head, "unit": UNITS[limit],
            "headroom_eur": p[f"{limit}_headroom_eur"], "headroom_debt_eur": p[f"{limit}_headroom_debt_eur"],
            "gap_eur": p[f"{limit}_gap_eur"],
        }))
    table = pd.concat(parts, ignore_index=True)
    key = pd.MultiIndex.from_frame(table[["corporation_id", "year", "limit"]])
    table["shadow_price_homes_per_eur_mln"] = prices.reindex(key).to_numpy()
    table["binds"] = (table["shadow_price_homes_per_eur_mln"] > BINDS) | (table["gap_eur"] > 0)
    return table.sort_values(["corporation_id", "year", "limit"]).reset_index(drop=True)


def _norm_text(limit: str, norm: float) -> str:
    if limit == "icr":
        return f"{norm:.2f}"
    if limit == "guarantee":
        return f"EUR {norm / 1e9:.1f} bn"
    return f"{norm:.0%}"


NAMED_ORIGINS = 3  # a sentence names this many origins, the rest as a count (a region of 40 stays one line)


def _whose(short: pd.DataFrame, label) -> str:
    """The origins of ``short`` (a region's unfilled homes of one type) in a sentence: where more
    than one, each with its unfilled homes, most first; beyond :data:`NAMED_ORIGINS`, the
    largest and a count (diagnosis.csv's ``origins`` keeps every one)."""
    per = short.groupby("origin")["homes"].sum().astype(int).reset_index()
    per = per.sort_values(["homes", "origin"], ascending=[False, True], kind="stable")
    if len(per) == 1:
        return label(per["origin"].iloc[0])
    if len(per) <= NAMED_ORIGINS:
        named = [f"{label(o)} ({h:,})" for o, h in zip(per["origin"], per["homes"])]
        return f"{', '.join(named[:-1])} and {named[-1]}"
    top = per.head(NAMED_ORIGINS)
    most = ", ".join(f"{label(o)} with {h:,}" for o, h in zip(top["origin"], top["homes"]))
    return f"{len(per)} corporations (most: {most}; {len(per) - NAMED_ORIGINS} more)"


def diagnose(rm: RegionModel, shortfall: pd.DataFrame, limits: pd.DataFrame) -> pd.DataFrame:
    """diagnosis.csv: per region and type with unfilled homes, each corporation that could take
    them (for verduurzaming only the owner) with the limit and year that stop it (its largest
    shadow price), and one plain sentence per region and type."""
    names = rm.case.corporations["name"]
    label = lambda cid: f"{cid} {names[cid]}"  # noqa: E731
    binding = limits[limits["binds"]].sort_values(["shadow_price_homes_per_eur_mln", "year"], ascending=[False, True])
    top = binding.drop_duplicates("corporation_id").set_index("corporation_id")
    rows = []
    for (region, kind), short in shortfall.groupby(["region", "type"], sort=True):
        origins = sorted(short["origin"].unique())
        if kind in TRADEABLE:
            takers = sorted(rm.moves.loc[rm.moves["origin"].isin(origins) & (rm.moves["type"] == kind),
                                         "executor"].unique())
        else:
            takers = origins
        first = int(short["year"].min())
        homes = int(short["homes"].sum())
        found = [(c, top.loc[c]) for c in takers if c in top.index]
        found.sort(key=lambda item: (-item[1]["shadow_price_homes_per_eur_mln"], item[1]["year"], item[0]))
        reasons = [f"the {LIMIT_NAMES[r['limit']]} of {label(c)} ({_norm_text(r['limit'], r['norm'])}) binds in "
                   f"{int(r['year'])}" for c, r in found[:3]]
        if len(found) > 3:
            more = len(found) - 3
            reasons.append(f"and {more} more {'corporation is' if more == 1 else 'corporations are'} at a limit")
        free = [c for c in takers if c not in top.index]
        others = f"{len(free)} other {'corporation has' if len(free) == 1 else 'corporations have'}"
        if reasons and free and kind == "sloop_nieuwbouw":
            reasons.append(f"{others} room for the rebuild, but the demolition "
                           "stays with the owner")
        elif reasons and free and kind in TRADEABLE:
            reasons.append(f"{others} room left, but whole homes and the transfer "
                           "rules (min_transfer, max_partners) keep them from taking these")
        if not reasons:
            reasons = ["no limit of a corporation that could take them binds in the LP relaxation; whole homes "
                       "and the transfer rules (min_transfer, max_partners) leave them"]
        sentence = (f"From {first}, {homes:,} {kind} homes of {_whose(short, label)} stay unfilled: "
                    + "; ".join(reasons) + ".")
        for c in takers:
            r = top.loc[c] if c in top.index else None
            rows.append({
                "region": region, "type": kind, "first_year": first, "unfilled_homes": homes,
                "value_eur": float(short["value_eur"].sum()), "origins": "|".join(origins), "taker": c,
                "limit": None if r is None else r["limit"], "year": None if r is None else int(r["year"]),
                "norm": None if r is None else float(r["norm"]),
                "shadow_price_homes_per_eur_mln": 0.0 if r is None else float(r["shadow_price_homes_per_eur_mln"]),
                "sentence": sentence,
            })
    columns = ["region", "type", "first_year", "unfilled_homes", "value_eur", "origins", "taker", "limit", "year",
               "norm", "shadow_price_homes_per_eur_mln", "sentence"]
    return pd.DataFrame(rows, columns=columns).astype({"year": "Int64"})


def sentences(diagnosis: pd.DataFrame) -> list[str]:
    """The plain sentence of every region and type with unfilled homes, once each."""
    return list(dict.fromkeys(diagnosis["sentence"]))
