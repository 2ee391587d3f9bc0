"""Brute force for tiny cases: enumerate every whole-home allocation, evaluate it, and find the
lexicographic optimum of MODEL.md 5 by sorting. Independent of the MIP: only the (separately
tested) projection is shared.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from conftest import write_case

from dpm.model.case import Case, load_case
from dpm.model.projection import LIMITS, Projection
from dpm.model.scenario import TRADEABLE


def compositions(n: int, parts: int):
    """All ways to write n as an ordered sum of ``parts`` non-negative integers."""
    for cut in itertools.combinations(range(n + parts - 1), parts - 1):
        bounds = (-1, *cut, n + parts - 1)
        yield tuple(bounds[i + 1] - bounds[i] - 1 for i in range(parts))


def brute_force(case: Case, efficiency: str = "transfers") -> dict:
    """Optimal value of each stage (continuity EUR, unfilled homes, transfers, unfilled timing in
    home-years, homes moved), in the project's order (see docs/model.md); ``efficiency`` other
    than ``transfers`` (``balanced``, ``cost``): continuity, unfilled and unfilled timing only,
    the tie-break of stage 2 as MODEL.md 5 orders it."""
    sc = case.scenario
    corps = case.corporations
    proj = Projection(corps, sc)
    lay = proj.layout
    ids = list(corps.index)
    min_transfer = sc.allocation.min_transfer
    tasks = case.opgave.to_dict("records")
    options = []  # per task: list of (executed-by-each-corporation tuple, unfilled)
    for task in tasks:
        if task["type"] in TRADEABLE:
            options.append([(c[:-1], c[-1]) for c in compositions(task["homes"], len(ids) + 1)])
        else:  # verduurzaming: the owner only
            owner = ids.index(task["corporation_id"])
            options.append([(tuple(d if i == owner else 0 for i in range(len(ids))), task["homes"] - d)
                            for d in range(task["homes"] + 1)])
    total = {o: sum(t["homes"] for t in tasks if t["corporation_id"] == o and t["type"] in TRADEABLE) for o in ids}
    combos = list(itertools.product(*options))
    z = np.zeros((len(combos), len(ids), lay.slots))
    unfilled = np.zeros(len(combos))
    earliness = np.zeros(len(combos))  # home-years unfilled before the end of the policy period
    moved_pair = np.zeros((len(combos), len(ids), len(ids)))
    for n, combo in enumerate(combos):
        for task, (done, left) in zip(tasks, combo):
            t = task["year"] - sc.base_year
            o = ids.index(task["corporation_id"])
            unfilled[n] += left
            earliness[n] += left * (sc.policy_years - t)
            block = "verduurzaming" if task["type"] == "verduurzaming" else f"build:{task['type']}"
            for c, homes in enumerate(done):
                z[n, c, lay.slot(block, t)] += homes
                if task["type"] in TRADEABLE and c != o:
                    moved_pair[n, o, c] += homes
            if task["type"] == "sloop_nieuwbouw":
                z[n, o, lay.slot("demolish", t)] += sum(done)
    # min_transfer: a relation moves at least min(min_transfer, o's whole tradeable task)
    least = np.array([min(min_transfer, total[o]) for o in ids])[None, :, None]
    ok = ~((moved_pair > 0) & (moved_pair < least)).any(axis=(1, 2))
    gap = np.zeros(len(combos))
    for limit in LIMITS:
        a = proj.headroom[limit]
        values = a[None, ..., 0] + np.einsum("chs,ncs->nch", a[..., 1:], z)
        gap += np.maximum(0.0, -values).sum(axis=(1, 2))
    transfers = (moved_pair > 0).sum(axis=(1, 2))
    moved = moved_pair.sum(axis=(1, 2))
    keep = ok.copy()
    best = {}
    # the project's order (docs/model.md): the timing tie-break on the fewest relations
    order = [("continuity", gap, 1e-3), ("unfilled", unfilled, 0.5), ("transfers", transfers, 0.5),
             ("unfilled_timing", earliness, 0.5), ("homes_moved", moved, 0.5)]
    if efficiency != "transfers":  # (no relations: the tie-break follows stage 2)
        order = [o for o in order if o[0] not in ("transfers", "homes_moved")]
    for name, value, tol in order:
        best[name] = float(value[keep].min())
        keep &= value <= best[name] + tol
    best["allocations"] = len(combos)
    return best


# --- the tiny instances (tests/test_model/test_bruteforce.py, tests/test_solvers/test_backends.py) ---
SCENARIO = """base_year = 2025
[horizon]
policy_years = 2
horizon_years = 3
[economy]
discount_rate_start = 0.06
[allocation]
min_transfer = {min_transfer}
[solver]
homes_gap = 0.0
"""

OPGAVE = [  # A has 5 nieuwbouw homes and 2 to insulate; B 2 flex homes
    {"region": "R", "corporation_id": "A", "type": "nieuwbouw", "year": 2026, "homes": 3},
    {"region": "R", "corporation_id": "A", "type": "nieuwbouw", "year": 2027, "homes": 2},
    {"region": "R", "corporation_id": "A", "type": "verduurzaming", "year": 2026, "homes": 2},
    {"region": "R", "corporation_id": "B", "type": "flex", "year": 2027, "homes": 2},
]

# (debt of A, B, C in EUR; min_transfer): corporations of 100 homes and EUR 10 mln beleidswaarde
INSTANCES = {
    "all_fits": ((8.2e6, 8.0e6, 8.1e6), 2),
    "one_transfer": ((8.6e6, 8.3e6, 8.4e6), 2),
    "unfilled_after_transfer": ((8.8e6, 7.9e6, 8.1e6), 2),
    "continuity_gap_of_C": ((8.8e6, 8.1e6, 9.6e6), 2),
    "gap_and_unfilled": ((8.9e6, 8.0e6, 8.05e6), 2),
    "min_transfer_one": ((8.9e6, 8.0e6, 8.05e6), 1),
    "a_breaks_b_and_c_small": ((9.0e6, 8.3e6, 8.35e6), 3),
}


def instance(tmp_path, debts, min_transfer) -> Case:
    """The tiny case of ``INSTANCES``: corporations A, B, C with these debts."""
    corps = [{"corporation_id": c, "debt_eur": d} for c, d in zip("ABC", debts)]
    return load_case(write_case(tmp_path / "tiny", corps, OPGAVE, SCENARIO.format(min_transfer=min_transfer)))


def tiny_case(folder: Path) -> Path:
    """The ``one_transfer`` instance as a case folder: a whole run of it takes a fraction of a
    second, for tests of what a run writes rather than what it solves."""
    debts, min_transfer = INSTANCES["one_transfer"]
    corps = [{"corporation_id": c, "debt_eur": d} for c, d in zip("ABC", debts)]
    return write_case(folder, corps, OPGAVE, SCENARIO.format(min_transfer=min_transfer))
