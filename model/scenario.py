"""Scenario: defaults merged with a case's scenario.toml, validated, paths expanded per year.

MODEL.md sections 2 (time), 3 (scenario) and 9 (defaults). The defaults live in one file,
``scenarios/defaults.toml``, each value with its source.
"""
from __future__ import annotations

import copy
import difflib
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from dpm.model.errors import CaseError
from dpm.scenarios import path as package_path

TYPES = ("nieuwbouw", "flex", "sloop_nieuwbouw", "verduurzaming")
TRADEABLE = ("nieuwbouw", "flex", "sloop_nieuwbouw")  # types whose homes may move between corporations

# Scenario keys that are yearly paths: one number, or a list with one number per year 1..H.
PATH_KEYS = ("rent_growth", "cost_inflation", "construction_inflation", "market_rate")

def setting(lower=None, upper=None, rate: bool = False, choices: tuple | None = None):
    """A scenario setting's checks: its range (``rate``: a fraction, so a value above 1 is
    almost always a percentage typed as such, and the message says so) or its choices."""
    return field(metadata={"range": None if lower is None else (lower, upper, rate), "choices": choices})


class Section:
    """A section of the scenario: typed settings, read from the merged TOML table. The values
    (and their sources) are in ``scenarios/defaults.toml`` only; a section declares each
    setting's type and checks."""

    @classmethod
    def of(cls, table: dict):
        """The section of a merged table (every key of defaults.toml is a field: an undeclared
        one is a TypeError here, not a setting silently dropped)."""
        return cls(**{k: _typed(v) for k, v in table.items()})

    @classmethod
    def checks(cls):
        """(key, range, choices) of every setting that has one."""
        return [(f.name, f.metadata.get("range"), f.metadata.get("choices")) for f in fields(cls)
                if f.metadata.get("range") or f.metadata.get("choices")]


def _typed(value):
    return tuple(value) if isinstance(value, list) else value


Path_ = float | tuple[float, ...]  # a yearly path: one number, or one per year 1..H


@dataclass(frozen=True)
class Horizon(Section):
    policy_years: int  # P
    horizon_years: int  # H


@dataclass(frozen=True)
class Norms(Section):
    """Aw/WSW norms (MODEL.md 3)."""
    icr_min: float = setting(0.0, 10.0)
    ltv_max: float = setting(0.0, 1.0, rate=True)
    solvency_min: float = setting(0.0, 1.0, rate=True)
    guarantee_cap_eur: float = setting(0.0, float("inf"))


@dataclass(frozen=True)
class Economy(Section):
    """Yearly paths and rates (MODEL.md 3, 4)."""
    rent_growth: Path_ = setting(-0.2, 0.5, rate=True)
    long_run_rent_growth: float = setting(-0.2, 0.5, rate=True)
    cost_inflation: Path_ = setting(-0.2, 0.5, rate=True)
    construction_inflation: Path_ = setting(-0.2, 0.5, rate=True)
    market_rate: Path_ = setting(-0.05, 0.5, rate=True)
    discount_rate_start: float = setting(0.0, 0.5, rate=True)
    discount_rate: float = setting(0.0, 0.5, rate=True)
    discount_rate_years: float = setting(0, 100)
    vacancy_loss: float = setting(0.0, 1.0, rate=True)


@dataclass(frozen=True)
class CorporationDefaults(Section):
    """Values of an empty optional corporation field (MODEL.md 9)."""
    runoff: float = setting(0.0, 1.0, rate=True)
    guaranteed_share: float = setting(0.0, 1.0, rate=True)
    taxes_per_home_eur: float
    efg_deadline_year: int


@dataclass(frozen=True)
class TypeFigures(Section):
    """Per home of a type of new stock (MODEL.md 3)."""
    investment_per_home_eur: float
    rent_per_home_eur: float
    opex_per_home_eur: float
    beleidswaarde_per_home_eur: float


@dataclass(frozen=True)
class Costs(Section):
    demolition_per_home_eur: float
    verduurzaming_per_home_eur: float
    efg_per_home_eur: float
    improvement_per_home_eur: float
    instandhouding_rebuild_rate: float = setting(0.0, 1.0, rate=True)
    instandhouding_whole_homes: bool
    verduurzaming_rent_increase_per_home_eur: float = setting(0.0, 1e5)
    verduurzaming_opex_saving_per_home_eur: float = setting(0.0, 1e5)
    verduurzaming_value_per_home_eur: float = setting(0.0, 1e7)


EFFICIENCY = ("transfers", "balanced", "cost")


@dataclass(frozen=True)
class Allocation(Section):
    """The MIP's settings (MODEL.md 5)."""
    min_transfer: int = setting(0, 10**9)
    max_partners: int = setting(0, 10**6)
    efficiency: str = setting(choices=EFFICIENCY)
    unfilled_tolerance: float = setting(0.0, 1.0, rate=True)
    unfilled_tolerance_homes: float = setting(0.0, 1e9)
    unfilled_weight: dict  # type -> weight of an unfilled home


@dataclass(frozen=True)
class Money(Section):
    """Projectsteun and national solidarity (MODEL.md 6)."""
    timing: str = setting(choices=("projects", "free"))
    project_cap: str = setting(choices=("investment", "onrendabele_top"))
    discount: str = setting(choices=("market_rate", "beleidswaarde"))


@dataclass(frozen=True)
class National(Section):
    method: str = setting(choices=("auto", "single_mip", "decomposition"))
    homes_gap: float = setting(0.0, 1e6)
    mip_rel_gap: float = setting(0.0, 1.0)
    donor_time_limit_s: float = setting(0.0, 1e7)
    donor_checks: int = setting(0, 10**9)
    recipient_checks: int = setting(0, 10**9)


@dataclass(frozen=True)
class Solver(Section):
    """Solver settings; a solver takes them as a plain mapping (:meth:`options`), since the
    solvers do not import the model."""
    time_limit_s: float = setting(0.0, 1e7)
    tiebreak_time_limit_s: float = setting(0.0, 1e7)
    tiebreak_checks: int = setting(0, 10**9)
    efficiency_time_limit_s: float = setting(0.0, 1e7)
    mip_rel_gap: float = setting(0.0, 1.0)
    threads: int = setting(1, 1024)
    backend: str
    random_seed: int
    homes_gap: float = setting(0.0, 1e6)
    prove_exact_s: float = setting(0.0, 1e7)
    prove_exact_checks: int = setting(0, 10**9)
    patience_checks: int = setting(0, 10**9)
    patience_s: float = setting(0.0, 1e7)
    patience_gap: float = setting(0.0, 1.0)
    stage_tolerance: float

    def options(self, **changes) -> dict:
        """These settings as the solvers' options mapping, with ``changes``."""
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, **changes}


SECTIONS = {"norms": Norms, "economy": Economy, "corporation_defaults": CorporationDefaults, "costs": Costs,
            "allocation": Allocation, "money": Money, "national": National, "solver": Solver}


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
    """The effective scenario of a run: typed sections (``scenario.allocation.min_transfer``),
    its yearly paths as arrays over t = 1..H, and ``raw``, the merged TOML as written into
    each run's summary.json."""

    raw: dict
    base_year: int
    horizon: Horizon
    norms: Norms
    economy: Economy
    corporation_defaults: CorporationDefaults
    types: dict  # type -> TypeFigures
    costs: Costs
    allocation: Allocation
    money: Money
    national: National
    solver: Solver

    @classmethod
    def of(cls, raw: dict) -> "Scenario":
        """The typed scenario of a merged, checked TOML table (``raw`` incl. base_year)."""
        return cls(raw=raw, base_year=raw["base_year"], horizon=Horizon.of(raw["horizon"]),
                   types={k: TypeFigures.of(v) for k, v in raw["types"].items()},
                   **{name: section.of(raw[name]) for name, section in SECTIONS.items()})

    def with_setting(self, section: str, key: str, value) -> "Scenario":
        """The same scenario with one setting changed (not checked again)."""
        return Scenario.of({**self.raw, section: {**self.raw[section], key: value}})

    @property
    def policy_years(self) -> int:
        return self.horizon.policy_years

    @property
    def horizon_years(self) -> int:
        return self.horizon.horizon_years

    @property
    def years(self) -> np.ndarray:
        """Calendar years of the projection, Y0 + 1 .. Y0 + H."""
        return self.base_year + np.arange(1, self.horizon_years + 1)

    @property
    def policy_calendar_years(self) -> np.ndarray:
        return self.years[: self.policy_years]

    def path(self, key: str) -> np.ndarray:
        """A yearly path of the economy section as an array of length H."""
        value = getattr(self.economy, key)
        if isinstance(value, tuple):
            return np.asarray(value, dtype=float)
        return np.full(self.horizon_years, float(value))

    def index(self, key: str) -> np.ndarray:
        """Cumulative index g(t) = prod_{s<=t} (1 + growth(s)) of a growth path (MODEL.md 4)."""
        return np.cumprod(1.0 + self.path(key))

    def discount_path(self) -> np.ndarray:
        """Discount rate dr(t), t = 1..H: linear from the start level to the long-term level."""
        eco = self.economy
        start, end, years = eco.discount_rate_start, eco.discount_rate, eco.discount_rate_years
        t = np.arange(1, self.horizon_years + 1)
        share = np.minimum(t / years, 1.0) if years > 0 else np.ones_like(t, dtype=float)
        return start + (end - start) * share

    def money_discount_path(self) -> np.ndarray:
        """The rate at which money in different years is compared (MODEL.md 6): the funding
        rate (``market_rate``, default) or the beleidswaarde's discount path (``money.discount``)."""
        if self.money.discount == "beleidswaarde":
            return self.discount_path()
        return self.path("market_rate")

    def value_index(self) -> np.ndarray:
        """v(t) = g_R(t) * (dr(0) - g_lt) / (dr(t) - g_lt), the beleidswaarde index (MODEL.md 4)."""
        g_lt = self.economy.long_run_rent_growth
        return self.index("rent_growth") * (self.economy.discount_rate_start - g_lt) / (self.discount_path() - g_lt)


def _check(raw: dict, file: str, text: str, horizon: int) -> None:
    for section, typed in SECTIONS.items():
        for f in fields(typed):  # a count (checks, homes, partners, threads) is a whole number
            value = raw[section][f.name]
            if f.type == "int" and not (isinstance(value, int) or float(value).is_integer()):
                raise CaseError(file, f"expected a whole number, got {value:g}", _line_of(text, f.name),
                                f"{section}.{f.name}")
        for key, bounds, _ in typed.checks():
            if bounds is None:
                continue
            lower, upper, is_rate = bounds
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
    for section, typed in SECTIONS.items():
        for key, _, allowed in typed.checks():
            if allowed is not None and raw[section][key] not in allowed:
                raise CaseError(file, f"expected one of {', '.join(allowed)}, got {raw[section][key]!r}",
                                _line_of(text, key), f"{section}.{key}")
    hz = raw["horizon"]
    if not (isinstance(hz["policy_years"], int) and isinstance(hz["horizon_years"], int)
            and 1 <= hz["policy_years"] <= hz["horizon_years"] <= 100):
        raise CaseError(file, "expected whole years with 1 <= policy_years <= horizon_years <= 100",
                        _line_of(text, "policy_years"), "horizon")


def _toml_text(data: bytes) -> str:
    """A scenario.toml's text: UTF-8, also with the byte-order mark an editor on Windows may
    write (Notepad's "UTF-8 with BOM"), or UTF-16 with its mark (Notepad's "Unicode"), which
    TOML itself does not allow."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


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
            text = _toml_text(Path(file).read_bytes())
            case = tomllib.loads(text)
        except FileNotFoundError:
            raise CaseError(name, "file not found; a case needs scenario.toml with at least base_year") from None
        except IsADirectoryError:
            raise CaseError(name, "is a folder, not a file") from None
        except OSError as err:
            raise CaseError(name, f"cannot read: {err.strerror or err}") from None
        except UnicodeDecodeError:
            raise CaseError(name, "cannot read as text: not UTF-8 (save it as UTF-8, the encoding TOML asks "
                                  "for)") from None
        except tomllib.TOMLDecodeError as err:
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
    return Scenario.of({"base_year": base_year, **raw})
