"""Plausibility of sizes and money for a Dutch housing corporation (issue: absurd input).

A value can be well-formed and still make no sense: an opgave row of 1e10 homes, a
corporation with more homes than the whole country, a rent of EUR 1 mln a year. Such input
is rejected with the reason (one :class:`CaseError` naming file, line and field), because a
model run on it answers a question nobody asked. Values that are merely unusual (a very
large corporation, a rent above the social-rent range) pass with a warning, shown on screen
and written to ``summary.json``.

The thresholds, with their sources (docs/model.md repeats them):

- The country's corporations own about 2.3 million homes (MODEL.md 9; seed 004, q7: 279
  corporations). A corporation, or a whole case, above 2.5 million homes is rejected; a
  corporation above 100,000 homes gets a warning (the largest own about 80,000; assumption).
- An opgave row (one region or corporation, type and year) larger than the whole stock of
  its region is rejected; a region whose tradeable opgave over the policy period exceeds
  its stock, or a corporation asked to make more homes sustainable than it owns, is warned.
- Per home and year (EUR, base year): rent rejected outside 1,200-30,000 and warned outside
  4,000-13,000 (social rent up to the liberalisation limit, about EUR 880 a month in 2024:
  assumption); operating cost rejected above 25,000, warned outside 1,000-7,000 (Aedes
  benchmark: about EUR 928 influenceable cost per home plus maintenance, MODEL.md 9);
  taxes rejected above 10,000, warned above 3,000; debt rejected above EUR 1 mln per home,
  warned above 250,000; beleidswaarde rejected outside 5,000-1,500,000, warned outside
  40,000-400,000 per home; sale price rejected above EUR 5 mln (assumptions, generous).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dpm.model.scenario import TRADEABLE
from dpm.model.tables import RawTable

NATIONAL_STOCK = 2_300_000  # corporation homes in the Netherlands (MODEL.md 9; seed 004, q7)
MAX_HOMES = 2_500_000  # above this a corporation or a case has more homes than the country
LARGE_CORPORATION = 100_000  # warned: the largest Dutch corporations own about 80,000 homes (assumption)


@dataclass(frozen=True)
class Rule:
    """Bounds of a corporations.csv field, per home when ``per_home`` (EUR of the base year)."""

    column: str
    what: str
    reject: tuple[float, float]
    warn: tuple[float, float]
    per_home: bool = True


CORPORATION_RULES = (
    Rule("rent_per_home_eur", "rent per home per year", (1_200, 30_000), (4_000, 13_000), per_home=False),
    Rule("opex_per_home_eur", "operating cost per home per year", (0, 25_000), (1_000, 7_000), per_home=False),
    Rule("taxes_per_home_eur", "taxes per home per year", (0, 10_000), (0, 3_000), per_home=False),
    Rule("debt_eur", "debt per home", (0, 1_000_000), (0, 250_000)),
    Rule("beleidswaarde_eur", "beleidswaarde per home", (5_000, 1_500_000), (40_000, 400_000)),
    Rule("sale_price_eur", "sale price per home", (0, 5_000_000), (0, 5_000_000), per_home=False),
)


def _eur(v: float) -> str:
    return f"EUR {v:,.0f}"


def check_corporations(corp: pd.DataFrame, raw: RawTable) -> list[str]:
    """Reject absurd sizes and money in corporations.csv; return warnings for unusual ones.
    ``corp`` has a ``line`` column and its defaults filled."""
    warnings = []
    homes = corp["homes"].to_numpy(float)
    big = np.flatnonzero(homes > MAX_HOMES)
    if len(big):
        i = big[0]
        raise raw.error(f"{homes[i]:,.0f} homes is more than all Dutch corporations own together (about "
                        f"{NATIONAL_STOCK:,}); check the unit", int(corp["line"].iloc[i]), "homes")
    if homes.sum() > MAX_HOMES:
        raise raw.error(f"the corporations own {homes.sum():,.0f} homes together, more than all Dutch corporations "
                        f"(about {NATIONAL_STOCK:,}); check the unit of 'homes'")
    for i in np.flatnonzero(homes > LARGE_CORPORATION):
        warnings.append(f"{raw.source}, line {int(corp['line'].iloc[i])}: {corp['corporation_id'].iloc[i]} has "
                        f"{homes[i]:,.0f} homes, more than any Dutch corporation owns (about 80,000 at most); "
                        "check the figure")
    for rule in CORPORATION_RULES:
        value = corp[rule.column].to_numpy(float) / (homes if rule.per_home else 1.0)
        lo, hi = rule.reject
        bad = np.flatnonzero(np.isfinite(value) & ((value < lo) | (value > hi)))
        if len(bad):
            i = bad[0]
            raise raw.error(f"{rule.what} is {_eur(value[i])}, outside the plausible range {_eur(lo)} to {_eur(hi)} "
                            "for a Dutch housing corporation; check the unit (EUR, per year)",
                            int(corp["line"].iloc[i]), rule.column)
        lo, hi = rule.warn
        for i in np.flatnonzero(np.isfinite(value) & ((value < lo) | (value > hi))):
            warnings.append(f"{raw.source}, line {int(corp['line'].iloc[i])}, field '{rule.column}': "
                            f"{corp['corporation_id'].iloc[i]} has a {rule.what} of {_eur(value[i])}, outside the "
                            f"usual {_eur(lo)} to {_eur(hi)}")
    return warnings


def check_opgave(opg: pd.DataFrame, corp: pd.DataFrame, raw: RawTable) -> list[str]:
    """Reject an opgave row larger than its region's whole stock; warn when a region's
    tradeable opgave over the period exceeds its stock, or a corporation's verduurzaming
    exceeds its homes. ``opg`` is the table as read (region rows not yet split), with ``line``."""
    stock = corp.groupby("region")["homes"].sum()
    region_stock = opg["region"].map(stock).to_numpy(float)
    homes = opg["homes"].to_numpy(float)
    bad = np.flatnonzero(homes > region_stock)
    if len(bad):
        i = bad[0]
        raise raw.error(f"{homes[i]:,.0f} homes in one row is more than the whole stock of region "
                        f"{opg['region'].iloc[i]!r} ({region_stock[i]:,.0f} homes); check the figure",
                        int(opg["line"].iloc[i]), "homes")
    warnings = []
    tradeable = opg[opg["type"].isin(TRADEABLE)].groupby("region")["homes"].sum()
    for region, total in tradeable.items():
        if total > stock[region]:
            warnings.append(f"{raw.source}: region {region!r} has {total:,.0f} homes of tradeable opgave, more than "
                            f"its whole stock ({stock[region]:,.0f} homes); check the figures")
    own = opg[(opg["type"] == "verduurzaming") & opg["corporation_id"].notna()]
    own = own.groupby("corporation_id")["homes"].sum()
    for cid, total in own.items():
        if total > corp.at[cid, "homes"]:
            warnings.append(f"{raw.source}: {cid} is to make {total:,.0f} homes sustainable, more than it owns "
                            f"({corp.at[cid, 'homes']:,.0f}); check the figures")
    empty = sorted(set(corp["region"]) - set(opg.loc[opg["homes"] > 0, "region"]))
    for region in empty:
        warnings.append(f"{raw.source}: region {region!r} has corporations but no opgave; only its instandhouding "
                        "is computed")
    return warnings
