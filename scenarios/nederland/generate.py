"""Generate the SYNTHETIC national case: 279 corporations in 35 woondeal regions.

    python scenarios/nederland/generate.py      (writes corporations.csv, opgave.csv here)

Deterministic (fixed seed): the same files every time. The sizes and finances are spread like
the sector's (MODEL.md 9: 279 corporations on 1 January 2023, about 2.3 million homes, 35
woondeal regions), the opgave is in line with the NPA ambitions (about 250,000 new social
rental homes to 2030, 675,000 homes insulated, 450,000 made aardgasvrij). No row describes a
real corporation or region: the names say "synthetisch" and the regions are numbered.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 2023
N_CORPORATIONS = 279
N_REGIONS = 35
TOTAL_HOMES = 2_300_000
YEARS = range(2026, 2036)
# National opgave per year (homes), spread over regions by stock and a regional tightness factor
NIEUWBOUW_PER_YEAR = 31_000   # NPA: ~250,000 new social rental homes 2022-2030 (~31,000 a year)
VERDUURZAMING_PER_YEAR = 100_000  # NPA: 675,000 insulated + 450,000 aardgasvrij (overlapping) to 2030
FLEX_PER_YEAR = 3_000          # 2026-2029
SLOOP_SHARE_PER_YEAR = 0.0025  # sloop-nieuwbouw beyond instandhouding, share of stock


def generate(folder: Path) -> None:
    rng = np.random.default_rng(SEED)
    # corporations per region: 3 to 20, summing to 279
    counts = np.full(N_REGIONS, 3)
    extra = rng.multinomial(N_CORPORATIONS - counts.sum(), rng.dirichlet(np.full(N_REGIONS, 1.5)))
    counts = counts + extra
    while counts.max() > 20:  # move corporations from regions above 20 to the smallest
        counts[counts.argmax()] -= 1
        counts[counts.argmin()] += 1
    regions = [f"Regio {i + 1:02d} (synthetisch)" for i in range(N_REGIONS)]
    region_of = np.repeat(regions, counts)
    # sizes: lognormal, 300 to 60,000 homes, scaled to the national total
    raw = np.exp(rng.normal(np.log(5000), 1.0, N_CORPORATIONS))
    homes = np.clip(np.round(raw / raw.sum() * TOTAL_HOMES / 10) * 10, 300, 60_000).astype(int)
    n = N_CORPORATIONS
    bw_home = rng.uniform(95_000, 135_000, n)
    ltv0 = rng.uniform(0.55, 0.80, n)
    guaranteed = rng.uniform(0.88, 0.97, n)
    ltv0 = np.minimum(ltv0, 3.0e9 / (homes * bw_home * guaranteed))  # start below the EUR 3.5 bn WSW cap
    corps = pd.DataFrame({
        "corporation_id": [f"N{i + 1:03d}" for i in range(n)],
        "name": [f"Corporatie {i + 1:03d} (synthetisch)" for i in range(n)],
        "region": region_of,
        "homes": homes,
        "rent_per_home_eur": np.round(rng.normal(8300, 400, n), -1),
        "opex_per_home_eur": np.round(rng.normal(3250, 150, n), -1),
        "debt_eur": np.round(homes * bw_home * ltv0, -3),
        "interest_rate": np.round(rng.uniform(0.024, 0.033, n), 4),
        "beleidswaarde_eur": np.round(homes * bw_home, -3),
        "guaranteed_share": np.round(guaranteed, 3),
        "efg_homes": (homes * rng.uniform(0.0, 0.02, n)).astype(int),
        "sales_per_year": (homes * rng.uniform(0.0, 0.002, n)).astype(int),
        "sale_price_eur": np.round(rng.uniform(220_000, 320_000, n), -3),
    })
    stock = corps.groupby("region", sort=False)["homes"].sum().reindex(regions)
    tight = rng.lognormal(0.0, 0.45, N_REGIONS)  # some regions have more opgave than others
    share_nb = stock * tight / (stock * tight).sum()
    share = stock / stock.sum()
    rows = []
    for r in regions:
        for y in YEARS:
            rows.append((r, "", "nieuwbouw", y, int(round(NIEUWBOUW_PER_YEAR * share_nb[r]))))
            rows.append((r, "", "verduurzaming", y, int(round(VERDUURZAMING_PER_YEAR * share[r]))))
            if y <= 2029:
                rows.append((r, "", "flex", y, int(round(FLEX_PER_YEAR * share_nb[r]))))
            rows.append((r, "", "sloop_nieuwbouw", y, int(round(SLOOP_SHARE_PER_YEAR * stock[r]))))
    opgave = pd.DataFrame(rows, columns=["region", "corporation_id", "type", "year", "homes"])
    corps.to_csv(folder / "corporations.csv", index=False, lineterminator="\n")
    opgave[opgave["homes"] > 0].to_csv(folder / "opgave.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    generate(Path(__file__).parent)
