"""A case: corporations.csv, opgave.csv and scenario.toml, read and validated (MODEL.md 3, 10).

Everything is checked before any model is built. The first problem found ends the run
with a :class:`CaseError` naming the file, the line (as a spreadsheet shows it: the
header is line 1), the field and what was expected.
"""
from __future__ import annotations

import dataclasses

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dpm.model.errors import CaseError
from dpm.model.plausibility import check_corporations, check_opgave
from dpm.model.scenario import TYPES, Scenario, load_scenario
from dpm.model.tables import RawTable, read_csv_table, read_sheet


@dataclass(frozen=True)
class Column:
    """One field of an input table, declared once: validation (:func:`_read_table`), default
    filling (:func:`_fill_defaults`) and the README's column tables (:func:`column_table`) are
    generated from it.

    ``kind``: "text", "whole" (non-negative integer), "number", "rate" (a fraction);
    ``default``: the value of an empty optional field (None: stays empty), or a key of the
    scenario's ``[corporation_defaults]`` written as ``"scenario:KEY"``."""

    kind: str
    required: bool = False
    lower: float = 0.0
    upper: float = float("inf")
    doc: str = ""
    unit: str = ""
    default: object = None


CORPORATION_COLUMNS = {
    "corporation_id": Column("text", True, doc="unique id"),
    "name": Column("text", True, doc="name"),
    "region": Column("text", True, doc="woondeal region"),
    "homes": Column("whole", True, lower=1, doc="existing DAEB homes at the end of the base year", unit="homes"),
    "rent_per_home_eur": Column("number", True, doc="net rent per home per year", unit="EUR"),
    "opex_per_home_eur": Column("number", True, doc="beheer + onderhoud + leefbaarheid per home per year", unit="EUR"),
    "debt_eur": Column("number", True, doc="opening debt", unit="EUR"),
    "interest_rate": Column("rate", True, upper=0.2, doc="average rate on the opening debt", unit="fraction"),
    "beleidswaarde_eur": Column("number", True, lower=1.0, doc="opening beleidswaarde", unit="EUR"),
    "taxes_per_home_eur": Column("number", doc="property taxes and levies per home per year", unit="EUR",
                             default="scenario:taxes_per_home_eur"),
    "runoff": Column("rate", upper=1.0, doc="share of the opening debt refinanced each year at the market rate",
                 unit="fraction", default="scenario:runoff"),
    "guaranteed_share": Column("rate", upper=1.0, doc="WSW-guaranteed share of debt", unit="fraction",
                           default="scenario:guaranteed_share"),
    "other_assets_eur": Column("number", doc="other assets, for solvency", unit="EUR", default=0.0),
    "other_liabilities_eur": Column("number", doc="other liabilities, for solvency", unit="EUR", default=0.0),
    "vpb_eur": Column("number", doc="corporate tax per year", unit="EUR", default=0.0),
    "efg_homes": Column("whole", doc="E/F/G-label homes to improve, evenly until the deadline", unit="homes", default=0),
    "efg_deadline_year": Column("whole", lower=1990, upper=2100, doc="year by which the E/F/G labels are gone",
                            unit="year", default="scenario:efg_deadline_year"),
    "sales_per_year": Column("whole", doc="homes sold per year", unit="homes", default=0),
    "sale_price_eur": Column("number", doc="sale price per home, in EUR of the base year", unit="EUR", default=0.0),
    "werkgebied": Column("text", doc="other regions it may work in, separated by `\\|`"),
    "icr_min": Column("number", upper=10.0, doc="own stricter ICR norm (the stricter of own and sector norm applies)",
                  unit="ratio"),
    "ltv_max": Column("rate", upper=1.0, doc="own stricter LTV norm", unit="fraction"),
    "solvency_min": Column("rate", upper=1.0, doc="own stricter solvency norm", unit="fraction"),
    "marktwaarde_eur": Column("number", doc="reported only", unit="EUR"),
}

OPGAVE_COLUMNS = {
    "region": Column("text", True, doc="woondeal region"),
    "corporation_id": Column("text", doc="empty: a region row, split over its corporations by stock"),
    "type": Column("text", True, doc="nieuwbouw, flex, sloop_nieuwbouw or verduurzaming"),
    "year": Column("whole", True, lower=1990, upper=2100, doc="a calendar year in the policy period", unit="year"),
    "homes": Column("whole", True, doc="homes of the task", unit="homes"),
}


STEUN_COLUMNS = {
    "corporation_id": Column("text", True, doc="a corporation of the case"),
    "year": Column("whole", True, lower=1990, upper=2100, doc="a calendar year of the projection", unit="year"),
    "steun_eur": Column("number", True, doc="money paid into the corporation's cash flow that year", unit="EUR"),
}


def _default_value(spec: Column, scenario: Scenario | dict | None):
    """The value an empty optional field takes (``scenario``: a Scenario or the defaults' dict)."""
    if isinstance(spec.default, str) and spec.default.startswith("scenario:"):
        key = spec.default[len("scenario:"):]
        return scenario["corporation_defaults"][key] if isinstance(scenario, dict) else getattr(scenario.corporation_defaults, key)
    return spec.default


def column_table(columns: dict[str, Column]) -> str:
    """The README's markdown table of an input table's columns, generated from the schema
    (defaults as in ``scenarios/defaults.toml``)."""
    import tomllib

    from dpm.model.scenario import defaults_file

    defaults = tomllib.loads(defaults_file().read_text(encoding="utf-8"))

    def show(v):
        return f"{v:g}" if isinstance(v, float) else str(v)

    lines = ["| column | unit | required (default) | range | meaning |", "| --- | --- | --- | --- | --- |"]
    for name, spec in columns.items():
        default = _default_value(spec, defaults)
        if spec.required:
            need = "yes"
        elif default is None:
            need = "no"
        elif isinstance(spec.default, str):
            need = f"no ({show(default)}, `corporation_defaults.{spec.default[len('scenario:'):]}`)"
        else:
            need = f"no ({show(default)})"
        rng = "" if spec.kind == "text" else (
            f">= {spec.lower:g}" if spec.upper == float("inf") else f"{spec.lower:g} - {spec.upper:g}")
        lines.append(f"| `{name}` | {spec.unit} | {need} | {rng} | {spec.doc} |")
    return "\n".join(lines)


def _suggest(name: str, options) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _read_table(raw: RawTable, columns: dict[str, Column]) -> pd.DataFrame:
    """Check a table's columns and convert each field per its :class:`Column`; the result
    has a ``line`` column with each row's line (or sheet row) for later messages."""
    text = raw.text
    for col in text.columns:
        if col not in columns:
            raise raw.error(f"unknown column{_suggest(col, columns)} (expected: {', '.join(columns)})",
                            raw.header_line, col)
    for col, spec in columns.items():
        if spec.required and col not in text.columns:
            raise raw.error(f"required column is missing{_suggest(col, text.columns)}", raw.header_line, col)
    if text.empty:
        raise raw.error("no rows")
    out = pd.DataFrame(index=text.index)
    lines = raw.lines
    for col in text.columns:
        spec = columns[col]
        cells = text[col]
        empty = cells == ""
        if spec.required and empty.any():
            raise raw.error("required value is empty", lines[empty.to_numpy().argmax()], col)
        if spec.kind == "text":
            out[col] = cells.where(~empty, None)
            continue
        values = raw.numbers(col, grouping=spec.kind != "rate", percent=spec.kind == "rate")
        bad = (values.isna() & ~empty) | np.isinf(values.fillna(0))
        if bad.any():
            i = int(bad.to_numpy().argmax())
            raise raw.error(f"expected a number, got {cells.iloc[i]!r}", lines[i], col)
        if spec.kind == "whole":
            frac = values.notna() & (values != values.round())
            if frac.any():
                i = int(frac.to_numpy().argmax())
                raise raw.error(f"expected a whole number of homes/years, got {cells.iloc[i]!r}", lines[i], col)
        low = values.notna() & ((values < spec.lower) | (values > spec.upper))
        if low.any():
            i = int(low.to_numpy().argmax())
            v = float(values.iloc[i])
            hint = f"; rates are fractions: did you mean {v / 100:g}?" if spec.kind == "rate" and 1 < v <= 100 else ""
            raise raw.error(f"expected a value in [{spec.lower:g}, {spec.upper:g}], got {cells.iloc[i]}{hint}",
                            lines[i], col)
        out[col] = values
    out["line"] = lines
    return out


TABLES = ("corporations", "opgave")


def _case_files(path: Path) -> tuple[str, dict[str, RawTable], Path]:
    """Where a case's tables and scenario are: a folder with ``<table>.csv`` (or
    ``<table>.xlsx``) and ``scenario.toml``, or a workbook with the sheets ``corporations``
    and ``opgave`` and ``scenario.toml`` beside it. Returns (name, tables, scenario file)."""
    if not path.exists():
        raise CaseError(str(path), "does not exist")
    if path.is_file() and path.suffix.lower() == ".xlsx":
        return path.stem, {t: read_sheet(path, t) for t in TABLES}, path.parent / "scenario.toml"
    if not path.is_dir():
        raise CaseError(str(path), "not a case: expected a folder with corporations.csv, opgave.csv and "
                        "scenario.toml, or an .xlsx workbook with the sheets 'corporations' and 'opgave'")
    tables = {}
    for t in TABLES:
        csv, xlsx = path / f"{t}.csv", path / f"{t}.xlsx"
        if csv.exists() and xlsx.exists():
            raise CaseError(f"{t}.csv", f"both {t}.csv and {t}.xlsx are in {path}; it is not clear which one "
                            "is meant: remove or rename one")
        tables[t] = read_sheet(xlsx, None) if xlsx.exists() else read_csv_table(csv)
    return path.resolve().name, tables, path / "scenario.toml"


@dataclass
class Case:
    """A validated case: one row per corporation (defaults filled), the opgave per corporation."""

    name: str
    path: Path
    scenario: Scenario
    corporations: pd.DataFrame  # index corporation_id, every CORPORATION_COLUMNS field filled
    opgave: pd.DataFrame  # columns corporation_id, region, type, year, homes (homes > 0, no duplicates)
    werkgebied: dict[str, tuple[str, ...]] = field(default_factory=dict)  # corporation -> extra regions
    steun: pd.DataFrame | None = None  # optional steun.csv: corporation_id, year, steun_eur (money in, EUR)
    warnings: list[str] = field(default_factory=list)  # unusual but accepted input (dpm.model.plausibility)
    files: list[Path] = field(default_factory=list)  # every input file read, for the run's provenance

    def steun_note(self) -> str | None:
        """One line on money coming in from the case's steun.csv, or None without one."""
        if self.steun is None:
            return None
        s = self.steun
        if not len(s):
            return "steun.csv is used: it holds no payments"
        return (f"steun.csv is used: EUR {s['steun_eur'].sum() / 1e6:,.1f} mln (nominal) of money coming in for "
                f"{s['corporation_id'].nunique()} corporation(s), {int(s['year'].min())}-{int(s['year'].max())}")

    def steun_matrix(self, ids) -> np.ndarray:
        """Input steun (EUR) per corporation in ``ids`` and projection year: (C, H), zeros without steun.csv."""
        years = self.scenario.years
        out = np.zeros((len(ids), len(years)))
        if self.steun is not None and len(self.steun):
            table = self.steun.pivot_table(index="corporation_id", columns="year", values="steun_eur", aggfunc="sum")
            out = table.reindex(index=list(ids), columns=years).fillna(0.0).to_numpy(float)
        return out

    def with_setting(self, section: str, key: str, value) -> "Case":
        """The same case with one scenario setting changed (e.g. money timing for a comparison).
        Not validated again: for values the scenario's own checks allow."""
        return dataclasses.replace(self, scenario=self.scenario.with_setting(section, key, value))

    @property
    def regions(self) -> list[str]:
        return sorted(self.corporations["region"].unique())


def _fill_corporation_defaults(corp: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Optional columns: absent ones added, empty cells filled, from ``Column.default``."""
    for col, spec in CORPORATION_COLUMNS.items():
        if spec.required:
            continue
        value = _default_value(spec, scenario)
        if col not in corp.columns:
            corp[col] = np.nan if value is None and spec.kind != "text" else value
        elif value is not None:
            corp[col] = corp[col].fillna(value)
    return corp


def _split_region_rows(region_rows: pd.DataFrame, corp: pd.DataFrame) -> pd.DataFrame:
    """Split region-level opgave over the region's corporations in proportion to their stock:
    whole homes rounded down, the remainder to the largest corporation (MODEL.md 3)."""
    parts = []
    for region, members in corp.groupby("region", sort=True):
        rows = region_rows[region_rows["region"] == region]
        if rows.empty:
            continue
        members = members.sort_values(["homes", "corporation_id"], ascending=[False, True])
        share = members["homes"].to_numpy(float) / members["homes"].sum()
        homes = rows["homes"].to_numpy(float)
        split = np.floor(np.outer(homes, share))
        split[:, 0] += homes - split.sum(axis=1)  # remainder to the largest
        parts.append(pd.DataFrame({
            "region": region,
            "corporation_id": np.tile(members["corporation_id"].to_numpy(), len(rows)),
            "type": np.repeat(rows["type"].to_numpy(), len(members)),
            "year": np.repeat(rows["year"].to_numpy(), len(members)),
            "homes": split.ravel(),
        }))
    return pd.concat(parts, ignore_index=True) if parts else region_rows.iloc[:0][["region", "corporation_id", "type", "year", "homes"]]


def load_case(path: str | Path, overrides: dict | None = None, overrides_source: str = "overrides") -> Case:
    """Read and validate the case ``path`` (see :func:`_case_files`); nothing is built or written here."""
    path = Path(path)
    name, tables, scenario_file = _case_files(path)
    scenario = load_scenario(scenario_file, overrides, overrides_source)
    corp_t, opg_t = tables["corporations"], tables["opgave"]

    corp = _read_table(corp_t, CORPORATION_COLUMNS)
    dup = corp["corporation_id"].duplicated()
    if dup.any():
        i = int(dup.to_numpy().argmax())
        raise corp_t.error(f"duplicate id {corp['corporation_id'].iloc[i]!r}",
                           int(corp["line"].iloc[i]), "corporation_id")
    corp = _fill_corporation_defaults(corp, scenario)
    warnings = check_corporations(corp, corp_t)
    regions = set(corp["region"])
    werkgebied: dict[str, tuple[str, ...]] = {}
    for _, row in corp.iterrows():
        text = "" if pd.isna(row["werkgebied"]) else str(row["werkgebied"])
        extra = tuple(r.strip() for r in text.split("|") if r.strip())
        for r in extra:
            if r not in regions:
                raise corp_t.error(f"unknown region {r!r}{_suggest(r, regions)} "
                                   "(a werkgebied region must be the region of some corporation)",
                                   int(row["line"]), "werkgebied")
        werkgebied[row["corporation_id"]] = tuple(r for r in extra if r != row["region"])
    corp = corp.set_index("corporation_id", drop=False).sort_index()

    opg = _read_table(opg_t, OPGAVE_COLUMNS)
    first, last = scenario.base_year + 1, scenario.base_year + scenario.policy_years
    for i, row in enumerate(opg.itertuples(index=False)):
        line = int(row.line)
        if row.type not in TYPES:
            raise opg_t.error(f"unknown type {row.type!r}{_suggest(row.type, TYPES)} "
                              f"(expected one of {', '.join(TYPES)})", line, "type")
        if row.region not in regions:
            raise opg_t.error(f"region {row.region!r} has no corporations in {corp_t.source}"
                              f"{_suggest(row.region, regions)}", line, "region")
        if not pd.isna(row.corporation_id):
            if row.corporation_id not in corp.index:
                raise opg_t.error(f"unknown corporation_id {row.corporation_id!r}"
                                  f"{_suggest(row.corporation_id, corp.index)}", line, "corporation_id")
            if corp.at[row.corporation_id, "region"] != row.region:
                raise opg_t.error(f"corporation {row.corporation_id!r} belongs to region "
                                  f"{corp.at[row.corporation_id, 'region']!r}, not {row.region!r}", line, "region")
        if not first <= row.year <= last:
            raise opg_t.error(f"year {int(row.year)} is outside the policy period {first}-{last}",
                              line, "year")
    warnings += check_opgave(opg, corp, opg_t)
    key = ["region", "corporation_id", "type", "year"]
    dup = opg.duplicated(key)
    if dup.any():
        raise opg_t.error("duplicate row: this region, corporation, type and year is given twice",
                          int(opg["line"][dup].iloc[0]), "year")
    is_region = opg["corporation_id"].isna()
    mixed = opg[is_region].merge(opg[~is_region], on=["region", "type", "year"], suffixes=("", "_corp"))
    if not mixed.empty:
        raise opg_t.error("this region, type and year has a region row and corporation rows; "
                          "give either one region row or rows per corporation", int(mixed["line"].iloc[0]),
                          "corporation_id")
    rows = pd.concat([opg.loc[~is_region, ["region", "corporation_id", "type", "year", "homes"]],
                      _split_region_rows(opg[is_region], corp.reset_index(drop=True))], ignore_index=True)
    rows = rows[rows["homes"] > 0].astype({"year": int, "homes": int})
    rows = rows.groupby(["region", "corporation_id", "type", "year"], as_index=False)["homes"].sum()
    steun_file = path / "steun.csv" if path.is_dir() else None
    steun = _read_steun(path, corp, scenario) if steun_file is not None and steun_file.exists() else None
    files = [t.file for t in tables.values() if t.file is not None] + [scenario_file]
    files += [steun_file] if steun is not None else []
    return Case(name=name, path=path, scenario=scenario, corporations=corp.drop(columns="line"), opgave=rows,
                werkgebied=werkgebied, steun=steun, warnings=list(dict.fromkeys(warnings)),
                files=sorted(set(files)))


def _read_steun(folder: Path, corp: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Optional steun.csv (e.g. granted projectsteun, or the output of ``dpm steun``): money
    into a corporation's cash flow in a projection year."""
    raw = read_csv_table(folder / "steun.csv")
    steun = _read_table(raw, {**STEUN_COLUMNS, **{c: Column("text") for c in raw.text.columns
                                                   if c not in STEUN_COLUMNS}})
    first, last = int(scenario.years[0]), int(scenario.years[-1])
    for row in steun.itertuples(index=False):
        if row.corporation_id not in corp.index:
            raise raw.error(f"unknown corporation_id {row.corporation_id!r}{_suggest(row.corporation_id, corp.index)}",
                            row.line, "corporation_id")
        if not first <= row.year <= last:
            raise raw.error(f"year {int(row.year)} is outside the projection {first}-{last}", row.line, "year")
    return steun[["corporation_id", "year", "steun_eur"]].astype({"year": int})
