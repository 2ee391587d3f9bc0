"""Synthetic woondeal regions for benchmarks (fixed seed). Sizes and finances are spread like
the sector's (MODEL.md 9): 800 to 40,000 homes, debt EUR 30-85k and beleidswaarde EUR 95-130k
per home; the nieuwbouw opgave is large enough that part of it stays unfilled.
SYNTHETIC: no row describes a real corporation.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def synthetic_region(n: int, folder: Path, seed: int = 2025, region: str = "Synthetisch") -> Path:
    rng = np.random.default_rng(seed + n)
    homes = np.clip(np.round(np.exp(rng.normal(np.log(6000), 1.0, n)) / 10) * 10, 800, 40000).astype(int)
    bw_home = rng.uniform(95_000, 130_000, n)
    ltv0 = rng.uniform(0.45, 0.80, n)
    corps = pd.DataFrame({
        "corporation_id": [f"S{i + 1:03d}" for i in range(n)],
        "name": [f"Synthetische corporatie {i + 1}" for i in range(n)],
        "region": region,
        "homes": homes,
        "rent_per_home_eur": np.round(rng.normal(8300, 350, n), -1),
        "opex_per_home_eur": np.round(rng.normal(3250, 150, n), -1),
        "debt_eur": np.round(homes * bw_home * ltv0, -3),
        "interest_rate": np.round(rng.uniform(0.025, 0.032, n), 4),
        "beleidswaarde_eur": np.round(homes * bw_home, -3),
        "guaranteed_share": np.round(rng.uniform(0.9, 0.97, n), 3),
        "efg_homes": (homes * rng.uniform(0.0, 0.02, n)).astype(int),
    })
    years = range(2026, 2036)
    total = homes.sum()
    rows = [(region, "", "nieuwbouw", y, int(total * 0.03)) for y in years]
    rows += [(region, "", "verduurzaming", y, int(total * 0.025)) for y in years]
    big = corps.nlargest(max(1, n // 3), "homes")["corporation_id"]
    rows += [(region, c, "flex", y, 25) for c in big for y in range(2026, 2030)]
    rows += [(region, c, "sloop_nieuwbouw", y, 40) for c in big for y in range(2027, 2035)]
    folder.mkdir(parents=True, exist_ok=True)
    corps.to_csv(folder / "corporations.csv", index=False)
    pd.DataFrame(rows, columns=["region", "corporation_id", "type", "year", "homes"]).to_csv(
        folder / "opgave.csv", index=False)
    (folder / "scenario.toml").write_text("# SYNTHETIC benchmark region\nbase_year = 2025\n")
    return folder


def linked_synthetic(sizes: list[int], folder: Path, seed: int = 2025) -> Path:
    """Synthetic regions of ``sizes`` corporations (seeds ``seed``, ``seed + 1``, ...), linked
    both ways: the first corporation of each region may also work in the next, the second of
    the next also in it (werkgebied). Corporation ids get the region's letter (S, T, U, ...)."""
    corps, opgaven = [], []
    names = [f"Synthetisch {chr(ord('A') + k)}" for k in range(len(sizes))]
    for k, n in enumerate(sizes):
        part = synthetic_region(n, folder / f"part{k}", seed=seed + k, region=names[k])
        c = pd.read_csv(part / "corporations.csv", dtype=str, keep_default_na=False)
        o = pd.read_csv(part / "opgave.csv", dtype={"corporation_id": str}, keep_default_na=False)
        letter = chr(ord("S") + k)
        c["corporation_id"] = letter + c["corporation_id"].str[1:]
        o["corporation_id"] = o["corporation_id"].str.replace("S", letter, regex=False)
        c["werkgebied"] = ""
        corps.append(c)
        opgaven.append(o)
    for k in range(len(sizes) - 1):
        corps[k].loc[corps[k].index[0], "werkgebied"] = names[k + 1]
        corps[k + 1].loc[corps[k + 1].index[1], "werkgebied"] = names[k]
    case = folder / "case"
    case.mkdir(parents=True, exist_ok=True)
    pd.concat(corps).to_csv(case / "corporations.csv", index=False)
    pd.concat(opgaven).to_csv(case / "opgave.csv", index=False)
    (case / "scenario.toml").write_text("# SYNTHETIC benchmark regions, linked\nbase_year = 2025\n")
    return case
