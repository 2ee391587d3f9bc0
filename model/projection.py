"""The financial projection of every corporation, year 1..H (MODEL.md 4).

Every quantity is *affine* in the corporation's own decisions: the homes of each type it
completes per year, its own demolitions, the homes of its stock it makes sustainable, and
money paid into its cash flow (steun). So each quantity is stored as an array of shape
``(corporations, H, 1 + slots)``: column 0 the constant, column 1 + s the coefficient on
decision slot s. The MIP takes its ratio rows from these arrays, and :meth:`Projection.evaluate`
plugs in a solved allocation: the reported numbers are exactly the model's numbers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dpm.model.scenario import TRADEABLE, Scenario

LIMITS = ("icr", "ltv", "solvency", "guarantee")
GAP_TOLERANCE_EUR = 1.0


@dataclass(frozen=True)
class Layout:
    """Decision slots of one corporation: which slot holds which decision of which year."""

    policy_years: int  # P
    horizon_years: int  # H

    # blocks in slot order; the first three are homes completed by the corporation itself
    BLOCKS = (*(f"build:{k}" for k in TRADEABLE), "demolish", "verduurzaming", "steun_in")

    def length(self, block: str) -> int:
        return self.horizon_years if block == "steun_in" else self.policy_years

    def start(self, block: str) -> int:
        start = 0
        for b in self.BLOCKS:
            if b == block:
                return start
            start += self.length(b)
        raise KeyError(block)

    @property
    def slots(self) -> int:
        return sum(self.length(b) for b in self.BLOCKS)

    def slot(self, block: str, t: np.ndarray | int) -> np.ndarray | int:
        """Slot of ``block`` in projection year t (1-based)."""
        return self.start(block) + np.asarray(t) - 1


class Projection:
    """Affine financial projection of a set of corporations (MODEL.md 4).

    Attributes hold ``(C, H, 1 + slots)`` arrays in EUR (homes for stock quantities).
    ``headroom[l]`` is the room on limit l (``icr_floor``, ``ltv_cap``, ``solvency_floor``,
    ``guarantee_cap``) in EUR; the limit holds when it is >= 0.
    """

    def __init__(self, corporations: pd.DataFrame, scenario: Scenario):
        self.corporations = corporations
        self.scenario = scenario
        self.ids = corporations.index.to_numpy()
        P, H = scenario.policy_years, scenario.horizon_years
        self.layout = Layout(P, H)
        self.years = scenario.years
        self._build()

    # --- helpers -------------------------------------------------------------------------
    def _zeros(self) -> np.ndarray:
        return np.zeros((len(self.ids), self.layout.slots + 1))

    def _decision(self, block: str, t: int) -> np.ndarray:
        """Unit affine (C, 1+S) of ``block`` in year t; zero outside the block's years."""
        out = self._zeros()
        if t <= self.layout.length(block):
            out[:, 1 + self.layout.slot(block, t)] = 1.0
        return out

    def norms(self) -> dict[str, np.ndarray]:
        """Per corporation: the sector norm, or its own stricter norm (MODEL.md 3)."""
        norms, c = self.scenario.norms, self.corporations
        return {
            "icr_min": np.fmax(norms.icr_min, c["icr_min"].to_numpy(float)),
            "ltv_max": np.fmin(norms.ltv_max, c["ltv_max"].to_numpy(float)),
            "solvency_min": np.fmax(norms.solvency_min, c["solvency_min"].to_numpy(float)),
            "guarantee_cap_eur": np.full(len(c), float(norms.guarantee_cap_eur)),
        }

    @staticmethod
    def _rebuild(E: np.ndarray, rate: float, whole: bool) -> np.ndarray:
        """Instandhouding sloop-nieuwbouw of a continuity year (MODEL.md 4): ``rate`` x the
        existing stock E(t-1). ``whole`` (costs.instandhouding_whole_homes): whole homes, the
        rate on the stock without the opgave's own demolitions (they are replaced by the
        opgave), rounded; else the fraction of MODEL.md 4 on the whole affine stock."""
        if not whole:
            return rate * E
        out = np.zeros_like(E)
        out[:, 0] = np.round(rate * E[:, 0])
        return out

    # --- the equations of MODEL.md 4 ------------------------------------------------------
    def _build(self) -> None:
        sc, c = self.scenario, self.corporations
        P, H = self.layout.policy_years, self.layout.horizon_years
        types, costs, eco = sc.types, sc.costs, sc.economy
        col = lambda name: c[name].to_numpy(float)[:, None]  # noqa: E731  (C, 1) broadcast over slots
        g_R, g_O, g_B = sc.index("rent_growth"), sc.index("cost_inflation"), sc.index("construction_inflation")
        r_mkt, v = sc.path("market_rate"), sc.value_index()
        vacancy, rebuild_rate = eco.vacancy_loss, costs.instandhouding_rebuild_rate
        top_only = sc.money.project_cap == "onrendabele_top"

        E0, D0, r0 = col("homes"), col("debt_eur"), col("interest_rate")
        rent_E, opex_E, taxes = col("rent_per_home_eur"), col("opex_per_home_eur"), col("taxes_per_home_eur")
        bw_E = col("beleidswaarde_eur") / E0
        sold, sale_price = col("sales_per_year"), col("sale_price_eur")
        other_assets, other_liab = col("other_assets_eur"), col("other_liabilities_eur")
        # mandatory E/F/G improvements, evenly over the years up to the deadline (instandhouding)
        efg_years = np.maximum(col("efg_deadline_year") - sc.base_year, 1)
        efg_per_year = col("efg_homes") / efg_years

        shape = (len(self.ids), H, self.layout.slots + 1)
        q = {name: np.zeros(shape) for name in (
            "homes", "homes_existing", "homes_new", "completed", "demolished", "rent", "opex", "ocf",
            "interest", "investment", "sales", "steun_in", "debt", "beleidswaarde", "equity", "fundable")}

        E = self._zeros(); E[:, :1] = E0
        N = {k: self._zeros() for k in TRADEABLE}
        S = self._zeros()  # homes of the stock made sustainable so far (verduurzaming): more rent and value, less upkeep
        whole = bool(costs.instandhouding_whole_homes)
        D = self._zeros(); D[:, :1] = D0
        L_prev = D0[:, 0] * 1.0  # opening debt still at its old rate, L(t-1)
        runoff = c["runoff"].to_numpy(float)
        for i, t in enumerate(range(1, H + 1)):
            # Stock (counts from the year after completion for rent, cost and instandhouding)
            homes_prev = E + sum(N.values())
            x = {k: self._decision(f"build:{k}", t) for k in TRADEABLE}
            demolish_own = self._decision("demolish", t)
            rebuild = self._rebuild(E, rebuild_rate, whole) if t > P else 0.0 * E  # instandhouding sloop-nieuwbouw
            E_new = E.copy(); E_new[:, :1] -= sold
            E_new -= demolish_own + rebuild
            # Operating cash flow before interest
            rent = (1 - vacancy) * g_R[i] * (rent_E * E + sum(types[k].rent_per_home_eur * N[k] for k in TRADEABLE)
                                             + costs.verduurzaming_rent_increase_per_home_eur * S)
            opex = g_O[i] * (opex_E * E + sum(types[k].opex_per_home_eur * N[k] for k in TRADEABLE)
                             - costs.verduurzaming_opex_saving_per_home_eur * S + taxes * homes_prev)
            opex[:, :1] += col("vpb_eur")
            ocf = rent - opex
            # Interest: old fixed-rate loans run off and are refinanced at the market rate
            interest = r_mkt[i] * D
            interest[:, 0] += (r0[:, 0] - r_mkt[i]) * L_prev
            L_prev = L_prev * (1 - runoff)
            # Investment
            verduurzaming = self._decision("verduurzaming", t)
            investment = g_B[i] * (
                sum(types[k].investment_per_home_eur * x[k] for k in TRADEABLE)
                + costs.demolition_per_home_eur * (demolish_own + rebuild)
                + costs.verduurzaming_per_home_eur * verduurzaming
                + types["nieuwbouw"].investment_per_home_eur * rebuild)
            investment[:, :1] += g_B[i] * costs.efg_per_home_eur * efg_per_year * (t <= efg_years)
            investment += g_O[i] * costs.improvement_per_home_eur * homes_prev
            # What money may fund in year t when it follows the projects (MODEL.md 6, money.timing):
            # the investment in each home completed (money.project_cap = "investment") or only its
            # onrendabele top (cost minus beleidswaarde at completion, at least 0), and the
            # verduurzaming and demolitions of the year
            fundable = sum(max(0.0, g_B[i] * types[k].investment_per_home_eur
                               - (v[i] * types[k].beleidswaarde_per_home_eur if top_only else 0.0)) * x[k]
                           for k in TRADEABLE)
            fundable = fundable + g_B[i] * (costs.demolition_per_home_eur * demolish_own
                                           + costs.verduurzaming_per_home_eur * verduurzaming)
            # Debt: no cash buffer, a deficit is borrowed, a surplus repays
            sales = self._zeros(); sales[:, :1] = sold * sale_price * g_R[i]
            steun = self._decision("steun_in", t)
            D = D + investment + interest - ocf - sales - steun
            # Stock at the end of year t
            E = E_new
            for k in TRADEABLE:
                N[k] = N[k] + x[k]
            N["nieuwbouw"] = N["nieuwbouw"] + rebuild
            S = S + verduurzaming
            bw = v[i] * (bw_E * E + sum(types[k].beleidswaarde_per_home_eur * N[k] for k in TRADEABLE)
                         + costs.verduurzaming_value_per_home_eur * S)
            equity = bw - D
            equity[:, :1] += other_assets - other_liab
            for name, value in (("homes", E + sum(N.values())), ("homes_existing", E), ("homes_new", sum(N.values())),
                                ("completed", sum(x.values()) + rebuild), ("demolished", demolish_own + rebuild),
                                ("rent", rent), ("opex", opex), ("ocf", ocf), ("interest", interest),
                                ("investment", investment), ("sales", sales), ("steun_in", steun), ("debt", D),
                                ("beleidswaarde", bw), ("equity", equity), ("fundable", fundable)):
                q[name][:, i] = value
        self.q = q
        self.r_mkt = r_mkt
        n = self.norms()
        pick = lambda a: a[:, None, None]  # noqa: E731
        gs = c["guaranteed_share"].to_numpy(float)
        bw_plus_oa = q["beleidswaarde"].copy(); bw_plus_oa[..., 0] += other_assets
        cap = np.zeros(shape); cap[..., 0] = n["guarantee_cap_eur"][:, None]
        # Ratio limits as linear rows "headroom >= 0", in EUR (MODEL.md 4)
        self.headroom = {
            "icr": q["ocf"] - pick(n["icr_min"]) * q["interest"],                         # icr_floor
            "ltv": pick(n["ltv_max"]) * q["beleidswaarde"] - q["debt"],                   # ltv_cap
            "solvency": q["equity"] - pick(n["solvency_min"]) * bw_plus_oa,               # solvency_floor
            "guarantee": cap - pick(gs) * q["debt"],                                       # guarantee_cap
        }

    def debt_factor(self) -> dict[str, np.ndarray]:
        """Per limit, the (C, H) factor that turns headroom in EUR into EUR of extra debt the
        corporation could take on before the limit binds. ICR: the extra interest at the market
        rate; guarantee: per guaranteed euro (NaN where nothing is guaranteed)."""
        n = self.norms()
        C, H = len(self.ids), self.layout.horizon_years
        gs = self.corporations["guaranteed_share"].to_numpy(float)
        with np.errstate(divide="ignore"):
            guarantee = np.where(gs > 0, 1.0 / np.where(gs > 0, gs, 1.0), np.nan)
        return {
            "icr": 1.0 / (n["icr_min"][:, None] * self.r_mkt[None, :]),
            "ltv": np.ones((C, H)), "solvency": np.ones((C, H)),
            "guarantee": np.repeat(guarantee[:, None], H, axis=1),
        }

    # --- evaluation -------------------------------------------------------------------
    @staticmethod
    def value(affine: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Evaluate an affine array (C, H, 1+S) at decisions z (C, S): returns (C, H)."""
        return affine[..., 0] + np.einsum("chs,cs->ch", affine[..., 1:], z)

    def evaluate(self, z: np.ndarray, steun_out: np.ndarray | None = None) -> pd.DataFrame:
        """The projection table for decisions z (C, S): one row per corporation and year, EUR.

        z's steun slots hold the net money in (in - out); ``steun_out`` (C, H, EUR) splits it
        into ``steun_in_eur`` and ``steun_out_eur`` (none: nothing paid out).
        The continuity gap on a limit is its shortfall, max(0, -headroom), in EUR; below
        EUR 1 it is rounding and reported as 0 (GAP_TOLERANCE_EUR)."""
        val = {name: self.value(a, z) for name, a in self.q.items()}
        head = {l: self.value(a, z) for l, a in self.headroom.items()}
        factor = self.debt_factor()
        n = self.norms()
        gs = self.corporations["guaranteed_share"].to_numpy(float)[:, None]
        oa = self.corporations["other_assets_eur"].to_numpy(float)[:, None]
        C, H = val["debt"].shape
        with np.errstate(divide="ignore", invalid="ignore"):
            cols = {
                "corporation_id": np.repeat(self.ids, H),
                "region": np.repeat(self.corporations["region"].to_numpy(), H),
                "year": np.tile(self.years, C),
                "homes": val["homes"], "homes_existing": val["homes_existing"], "homes_new": val["homes_new"],
                "homes_completed": val["completed"], "homes_demolished": val["demolished"],
                "rent_eur": val["rent"], "opex_eur": val["opex"], "ocf_eur": val["ocf"],
                "interest_eur": val["interest"], "investment_eur": val["investment"], "sales_eur": val["sales"],
                "steun_in_eur": val["steun_in"] + (0.0 if steun_out is None else steun_out),
                "steun_out_eur": np.zeros((C, H)) if steun_out is None else steun_out,
                "steun_fundable_eur": val["fundable"], "debt_eur": val["debt"], "guaranteed_debt_eur": gs * val["debt"],
                "beleidswaarde_eur": val["beleidswaarde"], "other_assets_eur": np.broadcast_to(oa, (C, H)),
                "equity_eur": val["equity"],
                "icr": val["ocf"] / val["interest"], "ltv": val["debt"] / val["beleidswaarde"],
                "solvency": val["equity"] / (val["beleidswaarde"] + oa),
                "icr_min": np.repeat(n["icr_min"], H), "ltv_max": np.repeat(n["ltv_max"], H),
                "solvency_min": np.repeat(n["solvency_min"], H),
                "guarantee_cap_eur": np.repeat(n["guarantee_cap_eur"], H),
            }
            for l in LIMITS:
                cols[f"{l}_headroom_eur"] = head[l]
                cols[f"{l}_headroom_debt_eur"] = head[l] * factor[l]
            for l in LIMITS:
                cols[f"{l}_gap_eur"] = np.where(-head[l] > GAP_TOLERANCE_EUR, -head[l], 0.0)
        table = pd.DataFrame({k: np.asarray(v).ravel() for k, v in cols.items()})
        table["continuity_gap_eur"] = table[[f"{l}_gap_eur" for l in LIMITS]].sum(axis=1)
        return table
