"""Investment room (handreiking step 2, MODEL.md 7): what each corporation can carry on its own.

For every corporation and tradeable type: with only its instandhouding (no opgave of its
own, no one else's), the most whole homes N of that type it can add, spread over the policy
years like its own opgave of that type (evenly where it has none), such that every limit
holds in every year 1..H. Sloop-nieuwbouw counts as its own project: the owner demolishes
and rebuilds.

The projection is affine in the decisions, so with the spread fixed every headroom is affine
in N: the continuous maximum is a ratio test over all rows, and the whole-homes maximum is
found next to it by evaluating the spread of N and N + 1 homes exactly. Corporations are
independent here and are computed all at once, as arrays over corporations (no solver).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from dpm.model.case import Case
from dpm.model.projection import GAP_TOLERANCE_EUR, LIMITS, Projection
from dpm.model.scenario import TRADEABLE

MAX_HOMES = 1_000_000  # a corporation whose limits never bind on a type (none seen in practice)


def profiles(case: Case, proj: Projection, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(C, P) year shares of each corporation's own opgave of ``kind`` (even where it has
    none), and whether the profile is its own."""
    P = proj.layout.policy_years
    own = case.opgave[case.opgave["type"] == kind].pivot_table(
        index="corporation_id", columns="year", values="homes", aggfunc="sum")
    own = own.reindex(index=proj.ids, columns=case.scenario.policy_calendar_years).fillna(0.0).to_numpy(float)
    total = own.sum(axis=1, keepdims=True)
    has_own = total[:, 0] > 0
    shares = np.where(has_own[:, None], own / np.where(total > 0, total, 1.0), 1.0 / P)
    return shares, has_own


def spread(n: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Whole homes per year (C, P) summing to ``n`` (C,): cumulative rounding of n x shares,
    so every year's homes are >= 0 and the total is exact."""
    cum = np.floor(n[:, None] * np.cumsum(shares, axis=1) + 0.5 + 1e-9)
    cum[:, -1] = n
    return np.diff(cum, axis=1, prepend=0.0)


def _decisions(proj: Projection, kind: str, homes: np.ndarray) -> np.ndarray:
    """Decision matrix z (C, S) for ``homes`` (C, P) of ``kind`` built by the corporation itself."""
    lay = proj.layout
    z = np.zeros((len(proj.ids), lay.slots))
    P = lay.policy_years
    z[:, lay.start(f"build:{kind}"):lay.start(f"build:{kind}") + P] = homes
    if kind == "sloop_nieuwbouw":
        z[:, lay.start("demolish"):lay.start("demolish") + P] = homes
    return z


def _headroom(proj: Projection, z: np.ndarray) -> np.ndarray:
    """(C, limits, H) headroom in EUR at decisions z."""
    return np.stack([proj.value(proj.headroom[lim], z) for lim in LIMITS], axis=1)


def investment_room(case: Case, corporations: list[str] | None = None) -> pd.DataFrame:
    """One row per corporation and tradeable type: ``homes`` (the room, whole homes over the
    policy period), ``investment_eur`` (what those homes cost, nominal EUR summed over the
    years), the profile used, and ``binding_limit``/``binding_year``: the limit and year that
    one home more would break (for a corporation already breaking a norm: that norm, room 0)."""
    corps = case.corporations if corporations is None else case.corporations.loc[corporations]
    proj = Projection(corps, case.scenario)
    C = len(proj.ids)
    years = case.scenario.years
    base = _headroom(proj, np.zeros((C, proj.layout.slots)))  # (C, L, H)
    broken = (base < -GAP_TOLERANCE_EUR).any(axis=(1, 2))
    rows = []
    for kind in TRADEABLE:
        shares, has_own = profiles(case, proj, kind)
        # continuous maximum along the profile: per row, how many homes until it reaches 0
        slope = _headroom(proj, _decisions(proj, kind, shares)) - base  # per home of the profile
        with np.errstate(divide="ignore", invalid="ignore"):
            limit_n = np.where(slope < 0, (base + GAP_TOLERANCE_EUR) / -slope, np.inf)
        n = np.floor(np.clip(limit_n.min(axis=(1, 2)), 0, MAX_HOMES))
        n[broken] = 0
        ok = lambda m: (_headroom(proj, _decisions(proj, kind, spread(m, shares))) >= -GAP_TOLERANCE_EUR  # noqa: E731
                        ).all(axis=(1, 2))
        # whole homes: step down while infeasible, up while one more is feasible
        while True:
            down = ~broken & (n > 0) & ~ok(n)
            if not down.any():
                break
            n[down] -= 1
        while True:
            up = ~broken & (n < MAX_HOMES) & ok(n + 1)
            if not up.any():
                break
            n[up] += 1
        # what one home more breaks: the earliest year, then the largest shortfall
        at = np.where(broken, 0, n + 1)
        head = _headroom(proj, _decisions(proj, kind, spread(at, shares)))
        year_fails = (head < -GAP_TOLERANCE_EUR).any(axis=1)  # (C, H)
        t_idx = np.where(year_fails.any(axis=1), year_fails.argmax(axis=1), -1)
        lim_idx = np.where(t_idx >= 0, np.argmin(head[np.arange(C), :, np.maximum(t_idx, 0)], axis=1), -1)
        z = _decisions(proj, kind, spread(n, shares))
        invest = (proj.value(proj.q["investment"], z) - proj.value(proj.q["investment"], 0 * z)).sum(axis=1)
        for c, cid in enumerate(proj.ids):
            rows.append({
                "corporation_id": cid, "name": corps.at[cid, "name"], "region": corps.at[cid, "region"],
                "type": kind, "homes": int(n[c]), "investment_eur": float(invest[c]),
                "profile": "own opgave" if has_own[c] else "even",
                "binding_limit": LIMITS[lim_idx[c]] if lim_idx[c] >= 0 else "none",
                "binding_year": int(years[t_idx[c]]) if t_idx[c] >= 0 else None,
            })
    table = pd.DataFrame(rows).astype({"binding_year": "Int64"})
    return table.sort_values(["region", "corporation_id", "type"]).reset_index(drop=True)
