"""Scenario: defaults merged with a case's scenario.toml, validated, paths expanded per year.

MODEL.md sections 2 (time), 3 (scenario) and 9 (defaults). The defaults live in one file,
``scenarios/defaults.toml``, each value with its source.
"""
from __future__ import annotations

import copy
import difflib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dpm.model.errors import CaseError
from dpm.scenarios import path as package_path

TYPES = ("nieuwbouw", "flex", "sloop_nieuwbouw", "verduurzaming")
TRADEABLE = ("nieuwbouw", "flex", "sloop_nieuwbouw")  # types whose homes may move between corporations

# Scenario keys that are yearly paths: one number, or a list with one number per year 1..H.
PATH_KEYS = ("rent_growth", "cost_inflation", "construction_inflation", "market_rate")

# (section, key) -> (lower, upper, is_rate): checked after merging; a rate above 1 is
# almost always a percentage typed as such, and the message says so.
RANGES = {
    ("norms", "icr_min"): (0.0, 10.0, False),
    ("norms", "ltv_max"): (0.0, 1.0, True),
    ("norms", "solvency_min"): (0.0, 1.0, True),
    ("norms", "guarantee_cap_eur"): (0.0, float("inf"), False),
    ("economy", "rent_growth"): (-0.2, 0.5, True),
    ("economy", "long_run_rent_growth"): (-0.2, 0.5, True),
    ("economy", "cost_inflation"): (-0.2, 0.5, True),
    ("economy", "construction_inflation"): (-0.2, 0.5, True),
    ("economy", "market_rate"): (-0.05, 0.5, True),
    ("economy", "discount_rate_start"): (0.0, 0.5, True),
    ("economy", "discount_rate"): (0.0, 0.5, True),
    ("economy", "discount_rate_years"): (0, 100, False),
    ("economy", "vacancy_loss"): (0.0, 1.0, True),
    ("corporation_defaults", "runoff"): (0.0, 1.0, True),
    ("corporation_defaults", "guaranteed_share"): (0.0, 1.0, True),
    ("costs", "instandhouding_rebuild_rate"): (0.0, 1.0, True),
    ("costs", "verduurzaming_rent_increase_per_home_eur"): (0.0, 1e5, False),
    ("costs", "verduurzaming_opex_saving_per_home_eur"): (0.0, 1e5, False),
    ("costs", "verduurzaming_value_per_home_eur"): (0.0, 1e7, False),
    ("allocation", "min_transfer"): (0, 10**9, False),
    ("allocation", "max_partners"): (0, 10**6, False),
    ("allocation", "unfilled_tolerance"): (0.0, 1.0, True),
    ("allocation", "unfilled_tolerance_homes"): (0.0, 1e9, False),
    ("solver", "time_limit_s"): (0.0, 1e7, False),
    ("solver", "efficiency_time_limit_s"): (0.0, 1e7, False),
    ("solver", "tiebreak_time_limit_s"): (0.0, 1e7, False),
    ("solver", "mip_rel_gap"): (0.0, 1.0, False),
    ("solver", "threads"): (1, 1024, False),
    ("solver", "homes_gap"): (0.0, 1e6, False),
    ("solver", "prove_exact_s"): (0.0, 1e7, False),
    ("national", "homes_gap"): (0.0, 1e6, False),
    ("national", "mip_rel_gap"): (0.0, 1.0, False),
}
EFFICIENCY = ("transfers", "balanced", "cost")
CHOICES = {  # (section, key) -> allowed values
    ("allocation", "efficiency"): EFFICIENCY,
    ("money", "timing"): ("projects", "free"),
    ("money", "discount"): ("market_rate", "beleidswaarde"),
    ("money", "project_cap"): ("investment", "onrendabele_top"),
    ("national", "method"): ("auto", "single_mip", "decomposition"),
}


def defaults_file() -> Path:
    return Path(str(package_path("defaults.toml")))


def _line_of(text: str, key: str) -> int | None:
    """The line where ``key = ...`` or the table ``[key]`` is set in a TOML text (tomllib keeps no positions)."""
    pattern = re.compile(rf"^\s*({re.escape(key)}\s*=|\[\s*([\w.]+\.)?{re.escape(key)}\s*\])")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _merge(base: dict, override: dict, file: str, text: str, prefix: str = "") -> dict:
    """Deep-merge ``override`` into a copy of ``base``; unknown keys and wrong types are errors."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        dotted = f"{prefix}{key}"
        if key not in base:
            close = difflib.get_close_matches(key, list(base), n=1, cutoff=0.6)
            hint = f"; did you mean '{prefix}{close[0]}'?" if close else ""
            raise CaseError(file, f"unknown scenario {'section' if isinstance(value, dict) else 'key'}{hint} "
                            f"(expected one of: {', '.join(sorted(base))})",
                            _line_of(text, key), dotted)
        default = base[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise CaseError(file, "expected a table [section]", _line_of(text, key), dotted)
            out[key] = _merge(default, value, file, text, dotted + ".")
        elif isinstance(default, str):
            if not isinstance(value, str):
                raise CaseError(file, f"expected text, got {value!r}", _line_of(text, key), dotted)
            out[key] = value
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise CaseError(file, f"expected true or false, got {value!r}", _line_of(text, key), dotted)
            out[key] = value
        else:  # numbers, and paths (number or list of numbers)
            ok_number = isinstance(value, (int, float)) and not isinstance(value, bool)
            ok_path = key in PATH_KEYS and isinstance(value, list) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            if not (ok_number or ok_path):
                expected = "a number or a list of numbers (one per year)" if key in PATH_KEYS else "a number"
                raise CaseError(file, f"expected {expected}, got {value!r}", _line_of(text, key), dotted)
            out[key] = value
    return out


@dataclass(frozen=True)
class Scenario:
    """The effective scenario of a run, with its yearly paths as arrays over t = 1..H."""

    raw: dict
    base_year: int
    policy_years: int  # P
    horizon_years: int  # H

    def __getitem__(self, section: str) -> dict:
        return self.raw[section]

    @property
    def years(self) -> np.ndarray:
        """Calendar years of the projection, Y0 + 1 .. Y0 + H."""
        return self.base_year + np.arange(1, self.horizon_years + 1)

    @property
    def policy_calendar_years(self) -> np.ndarray:
        return self.years[: self.policy_years]

    def path(self, key: str) -> np.ndarray:
        """A yearly path of the economy section as an array of length H."""
        value = self.raw["economy"][key]
        if isinstance(value, list):
            return np.asarray(value, dtype=float)
        return np.full(self.horizon_years, float(value))

    def index(self, key: str) -> np.ndarray:
        """Cumulative index g(t) = prod_{s<=t} (1 + growth(s)) of a growth path (MODEL.md 4)."""
        return np.cumprod(1.0 + self.path(key))

    def discount_path(self) -> np.ndarray:
        """Discount rate dr(t), t = 1..H: linear from the start level to the long-term level."""
        eco = self.raw["economy"]
        start, end, years = eco["discount_rate_start"], eco["discount_rate"], eco["discount_rate_years"]
        t = np.arange(1, self.horizon_years + 1)
        share = np.minimum(t / years, 1.0) if years > 0 else np.ones_like(t, dtype=float)
        return start + (end - start) * share

    def money_discount_path(self) -> np.ndarray:
        """The rate at which money in different years is compared (MODEL.md 6): the funding
        rate (``market_rate``, default) or the beleidswaarde's discount path (``money.discount``)."""
        if self.raw["money"]["discount"] == "beleidswaarde":
            return self.discount_path()
        return self.path("market_rate")

    def value_index(self) -> np.ndarray:
        """v(t) = g_R(t) * (dr(0) - g_lt) / (dr(t) - g_lt), the beleidswaarde index (MODEL.md 4)."""
        eco = self.raw["economy"]
        g_lt = eco["long_run_rent_growth"]
        return self.index("rent_growth") * (eco["discount_rate_start"] - g_lt) / (self.discount_path() - g_lt)


def _check(raw: dict, file: str, text: str, horizon: int) -> None:
    for (section, key), (lower, upper, is_rate) in RANGES.items():
        value = raw[section][key]
        for v in value if isinstance(value, list) else [value]:
            if lower <= v <= upper:
                continue
            hint = f"; rates are fractions: did you mean {v / 100:g}?" if is_rate and v > 1 else ""
            raise CaseError(file, f"expected a value in [{lower:g}, {upper:g}], got {v:g}{hint}",
                            _line_of(text, key), f"{section}.{key}")
    for key in PATH_KEYS:
        value = raw["economy"][key]
        if isinstance(value, list) and len(value) != horizon:
            raise CaseError(file, f"a path needs one value per projection year: expected {horizon}, got {len(value)}",
                            _line_of(text, key), f"economy.{key}")
    eco = raw["economy"]
    if min(eco["discount_rate_start"], eco["discount_rate"]) <= eco["long_run_rent_growth"]:
        raise CaseError(file, "the discount rate must exceed long_run_rent_growth (value index, MODEL.md 4)",
                        _line_of(text, "discount_rate"), "economy.discount_rate")
    from dpm.solvers.backends import check_backend

    wrong = check_backend(str(raw["solver"]["backend"]))
    if wrong:
        raise CaseError(file, wrong, _line_of(text, "backend"), "solver.backend")
    for (section, key), allowed in CHOICES.items():
        if raw[section][key] not in allowed:
            raise CaseError(file, f"expected one of {', '.join(allowed)}, got {raw[section][key]!r}",
                            _line_of(text, key), f"{section}.{key}")
    hz = raw["horizon"]
    if not (isinstance(hz["policy_years"], int) and isinstance(hz["horizon_years"], int)
            and 1 <= hz["policy_years"] <= hz["horizon_years"] <= 100):
        raise CaseError(file, "expected whole years with 1 <= policy_years <= horizon_years <= 100",
                        _line_of(text, "policy_years"), "horizon")


def load_scenario(file: Path | None, overrides: dict | None = None, overrides_source: str = "overrides") -> Scenario:
    """Read ``file`` (a case's scenario.toml) over the defaults; validate; return the Scenario.

    ``overrides`` (a nested dict like the TOML) is applied last, e.g. by tests and sweeps.
    """
    defaults = tomllib.loads(defaults_file().read_text(encoding="utf-8"))
    name = str(file) if file is not None else "scenario"
    text = ""
    case: dict = {}
    if file is not None:
        try:
            text = Path(file).read_text(encoding="utf-8")
            case = tomllib.loads(text)
        except FileNotFoundError:
            raise CaseError(name, "file not found; a case needs scenario.toml with at least base_year") from None
        except IsADirectoryError:
            raise CaseError(name, "is a folder, not a file") from None
        except OSError as err:
            raise CaseError(name, f"cannot read: {err.strerror or err}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise CaseError(name, f"not valid TOML: {err}") from None
    base_year = case.pop("base_year", None)
    if overrides:
        base_year = overrides.get("base_year", base_year)
        overrides = {k: v for k, v in overrides.items() if k != "base_year"}
    if not isinstance(base_year, int) or isinstance(base_year, bool) or not 1990 <= base_year <= 2100:
        raise CaseError(name, f"expected base_year, a calendar year such as 2025, got {base_year!r}",
                        _line_of(text, "base_year"), "base_year")
    raw = _merge(defaults, case, name, text)
    if overrides:
        raw = _merge(raw, overrides, overrides_source, "")
    hz = raw["horizon"]
    _check(raw, name if not overrides else f"{name} with {overrides_source}", text, hz["horizon_years"])
    raw = {"base_year": base_year, **raw}
    return Scenario(raw=raw, base_year=base_year, policy_years=hz["policy_years"],
                    horizon_years=hz["horizon_years"])
