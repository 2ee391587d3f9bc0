"""A sweep (``dpm sweep``, ``dpm.sweep``): every combination of scenario values, stages 1-2 of
every region, one table. This module computes; the CLI parses and prints."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pandas as pd

from dpm.results import thousands


def sweep_key(name: str, defaults: dict) -> tuple[str, ...]:
    """A scenario key as dotted path: 'economy.discount_rate', or a bare name that is unique
    among the defaults ('discount_rate')."""
    from dpm.model.errors import CaseError

    if "." in name:
        return tuple(name.split("."))
    def paths(node: dict, prefix: tuple = ()):
        for key, value in node.items():
            if isinstance(value, dict):
                yield from paths(value, (*prefix, key))
            else:
                yield (*prefix, key)
    every = list(paths(defaults))
    found = [p for p in every if p[-1] == name]
    if not found:
        import difflib

        keys = sorted({p[-1] for p in every})
        close = difflib.get_close_matches(name, keys, n=1, cutoff=0.6)
        raise CaseError("--vary", f"no scenario key named {name!r}" + (f"; did you mean {close[0]!r}?" if close else
                        "; give it as section.key (e.g. economy.discount_rate)"), field=name)
    if len(found) > 1:
        raise CaseError("--vary", f"the key {name!r} is in {len(found)} sections; say which one: "
                        + ", ".join(".".join(f) for f in found), field=name)
    return found[0]


def _value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _axes(vary, defaults: dict) -> list[tuple[str, tuple[str, ...], list]]:
    """(name, scenario path, values) per axis, from ``KEY=V1,V2`` texts or a ``{key: values}`` dict."""
    from dpm.model.errors import CaseError

    items = vary.items() if isinstance(vary, dict) else None
    if items is None:
        items = []
        for item in vary:
            name, _, values = item.partition("=")
            if not values:
                raise CaseError("--vary", f"expected KEY=V1,V2,..., got {item!r}")
            items.append((name, [_value(v) for v in values.split(",")]))
    return [(name, sweep_key(name, defaults), list(values)) for name, values in items]


@dataclass
class SweepResult:
    """One row per scenario combination and region: unfilled homes per type, their value
    (EUR), the continuity gap (EUR), statuses and seconds."""

    case: object
    axes: list
    table: pd.DataFrame
    regions: int = 0
    combos: list = field(default_factory=list)

    def totals(self) -> pd.DataFrame:
        names = [name for name, _, _ in self.axes]
        return self.table.groupby(names, sort=False)[["unfilled_homes", "unfilled_value_eur",
                                                      "continuity_gap_eur"]].sum()

    def summary_lines(self) -> list[str]:
        years = self.case.scenario.policy_calendar_years
        names = [name for name, _, _ in self.axes]
        lines = [f"Sweep of {len(self.combos)} scenarios x {self.regions} region(s): unfilled homes "
                 f"{years[0]}-{years[-1]}, their value and the continuity gap (EUR mln):"]
        for key, r in self.totals().iterrows():
            key = key if isinstance(key, tuple) else (key,)
            label = ", ".join(f"{n}={v}" for n, v in zip(names, key))
            lines.append(f"  {label}: {thousands(r['unfilled_homes'])} homes, EUR {r['unfilled_value_eur'] / 1e6:,.1f} mln; "
                         f"continuity gap EUR {r['continuity_gap_eur'] / 1e6:,.1f} mln")
        return lines

    def to_folder(self, out, force: bool = False, on_done=None):
        """``sweep.csv`` into ``out``, whole or not at all, under the output rules (dpm.outputs)."""
        from pathlib import Path

        from dpm.outputs import check_out
        from dpm.results import table_files, write_folder

        check_out(Path(out), [self.case.path], force)
        return write_folder(Path(out), table_files({"sweep.csv": self.table}), force, on_done=on_done)


def sweep(base, vary, engine: str = "local", address: str | None = None, workers: int | None = None,
          progress=None) -> SweepResult:
    """Stages 1-2 of every region of the case ``base`` for every combination of the scenario
    values ``vary`` (``{"discount_rate": [0.03, 0.04]}`` or ``["discount_rate=0.03,0.04"]``; a
    bare key must be unique among the defaults, else ``section.key``); each combination is
    the case read again with those values, validated like the case itself."""
    import tomllib

    from dpm.model.allocation import components
    from dpm.model.case import load_case
    from dpm.model.scenario import defaults_file
    from dpm.nationwide import map_regions

    defaults = tomllib.loads(defaults_file().read_text(encoding="utf-8"))
    axes = _axes(vary, defaults)
    combos = list(itertools.product(*[values for _, _, values in axes]))
    cases = []
    for combo in combos:
        overrides: dict = {}
        for (_, path, _), value in zip(axes, combo):
            node = overrides
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = value
        cases.append(load_case(base.path, overrides, "--vary"))
    jobs = [(case, regions) for case in cases for regions in components(case)]
    outcomes = iter(map_regions(jobs, engine, address, workers, progress))
    rows = []
    for combo, case in zip(combos, cases):
        for regions in components(case):
            o = next(outcomes)
            row = {name: value for (name, _, _), value in zip(axes, combo)}
            row.update({"region": " + ".join(regions), "unfilled_homes": o.unfilled})
            row.update({f"unfilled_{k}_homes": int(o.shortfall.loc[o.shortfall["type"] == k, "homes"].sum())
                        for k in sorted(set(base.opgave["type"]))})
            row.update({"unfilled_value_eur": float(o.shortfall["value_eur"].sum()),
                        "continuity_gap_eur": o.continuity_gap_eur,
                        "status": ", ".join(sorted({s.status for s in o.stages})), "seconds": round(o.seconds, 3)})
            rows.append(row)
    return SweepResult(base, axes, pd.DataFrame(rows), len(components(base)), combos)
