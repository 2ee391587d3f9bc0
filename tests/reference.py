"""An independent, deliberately plain transcription of MODEL.md section 4: one corporation,
scalar arithmetic, one loop over the years. Tests compare the project's vectorised affine
projection against it; it shares no code with ``dpm.model.projection``.
"""
from __future__ import annotations


def reference_projection(corp: dict, sc: dict, base_year: int, built: dict, demolished: dict,
                         verduurzaamd: dict, steun: dict | None = None) -> list[dict]:
    """``built[k][year]`` homes of type k completed by the corporation, ``demolished[year]`` its own
    sloop homes whose replacement is realised, ``verduurzaamd[year]`` its homes made sustainable,
    ``steun[year]`` the net money paid into its cash flow (EUR; negative when it pays out)."""
    P, H = sc["horizon"]["policy_years"], sc["horizon"]["horizon_years"]
    eco, types, costs = sc["economy"], sc["types"], sc["costs"]

    def path(key, t):
        v = eco[key]
        return v[t - 1] if isinstance(v, list) else v

    def dr(t):
        years = eco["discount_rate_years"]
        share = min(t / years, 1.0) if years > 0 else 1.0
        return eco["discount_rate_start"] + (eco["discount_rate"] - eco["discount_rate_start"]) * share

    kinds = ("nieuwbouw", "flex", "sloop_nieuwbouw")
    E, N, D, L = float(corp["homes"]), {k: 0.0 for k in kinds}, float(corp["debt_eur"]), float(corp["debt_eur"])
    E_plain = E  # existing stock without the opgave's demolitions: the base of the whole-homes rebuild
    S = 0.0  # homes made sustainable so far
    rent_up, saving, value_up = (costs["verduurzaming_rent_increase_per_home_eur"],
                                 costs["verduurzaming_opex_saving_per_home_eur"], costs["verduurzaming_value_per_home_eur"])
    gR = gO = gB = 1.0
    bwE = corp["beleidswaarde_eur"] / corp["homes"]
    efg_years = max(corp["efg_deadline_year"] - base_year, 1)
    icr_min = max(sc["norms"]["icr_min"], corp.get("icr_min") or 0)
    out = []
    for t in range(1, H + 1):
        year = base_year + t
        gR *= 1 + path("rent_growth", t)
        gO *= 1 + path("cost_inflation", t)
        gB *= 1 + path("construction_inflation", t)
        r = path("market_rate", t)
        x = {k: float(built.get(k, {}).get(year, 0)) for k in kinds}
        dem = float(demolished.get(year, 0))
        s = float(verduurzaamd.get(year, 0))
        if t <= P:
            rebuild = 0.0
        elif costs["instandhouding_whole_homes"]:
            rebuild = float(round(costs["instandhouding_rebuild_rate"] * E_plain))
        else:
            rebuild = costs["instandhouding_rebuild_rate"] * E
        homes_prev = E + sum(N.values())
        rent = (1 - eco["vacancy_loss"]) * gR * (corp["rent_per_home_eur"] * E
                                                  + sum(types[k]["rent_per_home_eur"] * N[k] for k in kinds)
                                                  + rent_up * S)
        opex = gO * (corp["opex_per_home_eur"] * E + sum(types[k]["opex_per_home_eur"] * N[k] for k in kinds)
                     - saving * S + corp["taxes_per_home_eur"] * homes_prev) + corp["vpb_eur"]
        ocf = rent - opex
        interest = r * D + (corp["interest_rate"] - r) * L
        L *= 1 - corp["runoff"]
        efg = corp["efg_homes"] / efg_years if t <= efg_years else 0.0
        investment = gB * (sum(types[k]["investment_per_home_eur"] * x[k] for k in kinds)
                           + costs["demolition_per_home_eur"] * (dem + rebuild)
                           + costs["verduurzaming_per_home_eur"] * s
                           + costs["efg_per_home_eur"] * efg
                           + types["nieuwbouw"]["investment_per_home_eur"] * rebuild) \
            + gO * costs["improvement_per_home_eur"] * homes_prev
        sales = corp["sales_per_year"] * corp["sale_price_eur"] * gR
        D = D + investment + interest - ocf - sales - (steun or {}).get(year, 0.0)
        E = E - corp["sales_per_year"] - dem - rebuild
        E_plain = E_plain - corp["sales_per_year"] - rebuild
        for k in kinds:
            N[k] += x[k]
        N["nieuwbouw"] += rebuild
        S += s
        v = gR * (eco["discount_rate_start"] - eco["long_run_rent_growth"]) / (dr(t) - eco["long_run_rent_growth"])
        bw = v * (bwE * E + sum(types[k]["beleidswaarde_per_home_eur"] * N[k] for k in kinds) + value_up * S)
        equity = bw + corp["other_assets_eur"] - D - corp["other_liabilities_eur"]
        out.append({"year": year, "homes": E + sum(N.values()), "rent_eur": rent, "opex_eur": opex, "ocf_eur": ocf,
                    "interest_eur": interest, "investment_eur": investment, "debt_eur": D,
                    "beleidswaarde_eur": bw, "equity_eur": equity, "icr": ocf / interest, "ltv": D / bw,
                    "solvency": equity / (bw + corp["other_assets_eur"]), "icr_min": icr_min})
    return out
