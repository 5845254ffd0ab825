"""Results: the table on stdout, the JSON file, the chart of ratios, the distance to the targets.

Every ratio is oriented so that above 1 means better than gevent (or than C): for rates it is
toolkit / reference, for times and memory reference / toolkit.
"""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import dataclass, field
from typing import Any

from .workloads import Case

BASELINE = "gevent"


@dataclass
class Row:
    """One toolkit's results in one case, over all rounds."""

    values: list[float] = field(default_factory=list)
    extra: list[dict[str, Any]] = field(default_factory=list)
    status: str = "ok"  # ok, skipped (unsupported or missing tool), failed, missing (not installed)
    reason: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def per_cpu_median(self) -> float | None:
        """Median operations per server CPU second, where the case measures it."""
        values = [e["per_cpu_s"] for e in self.extra if e.get("per_cpu_s")]
        return statistics.median(values) if values else None


Results = dict[str, dict[str, Row]]  # case key -> toolkit -> row


def better_ratio(case: Case, value: float | None, reference: float | None) -> float | None:
    """How many times better than the reference ``value`` is (above 1: better)."""
    if not value or not reference:
        return None
    return value / reference if case.higher_is_better else reference / value


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"


def _ratio(r: float | None) -> str:
    return f"{r:.2f}x" if r is not None else "-"


def table(cases: list[Case], results: Results, meta: dict[str, Any]) -> str:
    """The human-readable table."""
    lines = [
        f"greenpatch benchmarks: Python {meta['python']}, {meta['cpus']} CPU(s), {meta['pinning']}",
        f"load average {meta['load_before']} when the run started (above ~0.5, other work shares "
        "the machine: 'per CPU-s' is then the steadier figure)",
        f"{meta['rounds']} round(s), {meta['duration']} s per measurement"
        + (" (quick: figures are not meaningful)" if meta["quick"] else "")
        + "; median and spread (min-max); ratios above 1 are better than the reference",
    ]
    for case in cases:
        rows = results[case.key]
        has_cpu = any(row.per_cpu_median for row in rows.values())
        head = f"  {'toolkit':<11} {'median':>12} {'spread':>23} {'vs gevent':>10}"
        head += f" {'vs C':>7}" if "c" in rows else ""
        head += f" {'per CPU-s':>12} {'vs gevent':>10}" if has_cpu else ""
        cpu_base = rows[BASELINE].per_cpu_median if BASELINE in rows else None
        direction = "higher is better" if case.higher_is_better else "lower is better"
        lines += ["", f"{case.key}: {case.unit}, {direction}  ({case.note})", head]
        base = rows[BASELINE].median if BASELINE in rows else None
        c_ref = rows["c"].median if "c" in rows else None
        for toolkit, row in rows.items():
            if row.status != "ok" or not row.values:
                # A toolkit that failed in a later round keeps its earlier figures in the JSON,
                # but the table does not present a partial median as a result.
                lines.append(f"  {toolkit:<11} {row.status}: {row.reason}")
                continue
            med = row.median
            assert med is not None
            spread = f"{_fmt(min(row.values))}-{_fmt(max(row.values))}"
            vs_c = _ratio(better_ratio(case, med, c_ref)) if c_ref and toolkit != "c" else ""
            vs_g = _ratio(better_ratio(case, med, base))
            line = f"  {toolkit:<11} {_fmt(med):>12} {spread:>23} {vs_g:>10}"
            line += f" {vs_c:>7}" if "c" in rows else ""
            per_cpu = row.per_cpu_median
            if has_cpu and per_cpu:
                line += f" {_fmt(per_cpu):>12} {_ratio(better_ratio(case, per_cpu, cpu_base)):>10}"
            lines.append(line.rstrip())
    return "\n".join(lines)


# -- targets --------------------------------------------------------------------------------------

# (case key, reference, at least this many times better than it, what the issue asks)
TARGETS: list[tuple[str, str, float, str]] = [
    ("echo 100x64 B", "gevent", 1.5, "echo at least 1.5x gevent"),
    ("echo 100x64 B", "c", 0.65, "echo at least 0.65x the C server"),
    ("http 100 conns", "gevent", 1.3, "http at least 1.3x gevent"),
    ("micro sleep0", "gevent", 1.5, "sleep(0) at least 1.5x gevent"),
    ("micro spawn_join", "gevent", 2.0, "spawn+join at least 2x gevent"),
    ("fetch", "ideal", 1 / 1.15, "fetch within 15% of the ideal"),
    ("fetch", "floor", 1 / 1.15, "(fetch within 15% of the floor: the attainable ideal)"),
    ("memory", "gevent", 1.0, "memory per idle connection no more than gevent's"),
    ("wsgi hello", "gunicorn-gevent", 2.5, "hub.wsgi at least 2.5x gunicorn -k gevent"),
]
# The targets of rows other than greenpatch's own, by row.
OTHER_TARGETS: dict[str, list[tuple[str, str, float, str]]] = {
    "gunicorn-greenpatch": [
        ("wsgi hello", "gunicorn-gevent", 2.0, "our gunicorn worker at least 2x -k gevent"),
    ],
}


def targets(cases: list[Case], results: Results, toolkit: str = "greenpatch") -> list[dict]:
    """How far ``toolkit`` is from each target (the ones whose case ran)."""
    by_key = {c.key: c for c in cases}
    out = []
    for key, ref, want, text in TARGETS if toolkit == "greenpatch" else OTHER_TARGETS[toolkit]:
        case, rows = by_key.get(key), results.get(key)
        if case is None or rows is None or toolkit not in rows:
            continue
        row = rows[toolkit]
        if ref == "ideal":
            extra = row.extra[0] if row.extra else {}
            reference = extra.get("ideal_ms")
        else:
            reference = rows[ref].median if ref in rows else None
        ratio = better_ratio(case, row.median, reference)
        entry = {"target": text, "case": key, "reference": ref, "want": round(want, 3)}
        entry["now"] = None if ratio is None else round(ratio, 3)
        entry["met"] = None if ratio is None else ratio >= want
        if ratio is None:
            entry["why"] = row.status if row.status != "ok" else f"no {ref} figure"
        out.append(entry)
    return out


def targets_text(entries: list[dict], toolkit: str = "greenpatch") -> str:
    lines = ["", f"{toolkit} against the targets (ratios above 1 are better than the reference):"]
    for e in entries:
        if e["now"] is None:
            state, now = f"no data ({e['why']})", "-"
        else:
            state, now = ("met" if e["met"] else "not yet"), f"{e['now']:.2f}x"
        lines.append(f"  {e['target']:<56} want {e['want']:.2f}x  now {now:>6}  {state}")
    return "\n".join(lines)


# -- the blocking monitor's price ----------------------------------------------------------------

# (case, the same case with the toolkit's blocking monitor on). Issue 18 asks that greenpatch's
# monitor cost at most 5% of the rate.
MONITOR_PAIRS = [
    ("micro sleep0", "micro sleep0_monitor"),
    ("echo 100x64 B", "echo 100x64 B monitor"),
]


def monitor_cost_text(results: Results) -> str:
    """The rate with the blocking monitor on against off, per toolkit; empty if neither ran.

    Not the ratio of the two rows' medians: those are runs minutes apart, and on a shared machine
    they differ by more than a monitor costs. Where the on row measured off and on alternately
    (``on_off``: micro sleep0_monitor in one process, the echo case in neighbouring runs), the
    median of those ratios; else
    the median of each round's ratio (the off and on runs of a round are neighbours). With the
    spread over the rounds.
    """
    lines = ["", "blocking monitor on vs off (greenpatch's target: at most 5% slower):"]
    for off_key, on_key in MONITOR_PAIRS:
        off_rows, on_rows = results.get(off_key, {}), results.get(on_key, {})
        for tk, on in on_rows.items():
            ratios = [e["on_off"] for e in on.extra if e.get("on_off")]
            how = "interleaved"
            off = off_rows.get(tk)
            if not ratios and off is not None:
                ratios = [a / b for a, b in zip(on.values, off.values, strict=False) if a and b]
                how = "per round"
            if not ratios:
                continue
            change = statistics.median(ratios) - 1
            spread = f"{min(ratios) - 1:+.1%} to {max(ratios) - 1:+.1%}"
            rounds = f"{len(ratios)} round(s)"
            line = f"  {off_key:<16} {tk:<11} {change:+7.1%}  ({how}, {rounds}: {spread})"
            # micro sleep0_monitor's companions: the main thread's CPU time per switch, and the
            # wall less the time other processes held the CPU (the load's noise, gone on a
            # quiet machine): a monitor cost shows in the headline and in these alike.
            for key, label in (("on_off_cpu", "cpu time"), ("on_off_ran", "less CPU waits")):
                more = [e[key] for e in on.extra if e.get(key)]
                if more:
                    line += f"; {label} {statistics.median(more) - 1:+.1%}"
            lines.append(line)
    return "\n".join(lines) if len(lines) > 2 else ""


# -- files ----------------------------------------------------------------------------------------


def write_json(path: str, cases: list[Case], results: Results, meta: dict, tgts: list) -> None:
    """The raw results: every value of every round, with the run's circumstances."""
    doc: dict[str, Any] = {"meta": meta, "cases": [], "targets": tgts}
    for case in cases:
        rows = results[case.key]
        doc["cases"].append(
            {
                "key": case.key,
                "group": case.group,
                "unit": case.unit,
                "higher_is_better": case.higher_is_better,
                "note": case.note,
                "toolkits": {
                    tk: {
                        "status": row.status,
                        "reason": row.reason,
                        "median": row.median,
                        "per_cpu_s_median": row.per_cpu_median,
                        "values": row.values,
                        "extra": row.extra,
                        "vs_gevent": better_ratio(
                            case, row.median, rows[BASELINE].median if BASELINE in rows else None
                        ),
                    }
                    for tk, row in rows.items()
                },
            }
        )
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def read_json(path: str) -> tuple[list[Case], Results, dict]:
    """The cases, results and circumstances of a run, back from the file write_json() wrote."""
    with open(path) as f:
        doc = json.load(f)
    cases, results = [], {}
    for c in doc["cases"]:
        rows = c["toolkits"]
        case = Case(c["key"], c["group"], c["unit"], c["higher_is_better"], list(rows), None)
        case.note = c["note"]
        cases.append(case)
        results[c["key"]] = {
            tk: Row(r["values"], r["extra"], r["status"], r["reason"]) for tk, r in rows.items()
        }
    return cases, results, doc["meta"]


def chart(path: str, cases: list[Case], results: Results, meta: dict) -> str:
    """A PNG of every toolkit's ratio to gevent per case; returns what happened, for the log.

    Bars grow from 1 (gevent) on a log scale, rightwards when better and leftwards when worse, so
    2x better and 2x worse look the same size. Where greenpatch has no figure the chart says so.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "no chart: matplotlib is not installed (it is in the bench extra)"

    shown = [c for c in cases if results[c.key].get(BASELINE, Row()).median]
    if not shown:
        return "no chart: gevent, the reference, has no figures"
    toolkits: list[str] = []
    for case in shown:
        toolkits += [tk for tk in results[case.key] if tk not in toolkits and tk != BASELINE]

    from matplotlib.patches import Patch

    colors = {tk: plt.get_cmap("tab10")(i % 10) for i, tk in enumerate(toolkits)}
    slots = max(len([tk for tk in results[c.key] if tk != BASELINE]) for c in shown)
    height = 0.8 / max(1, slots)
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.35 * len(shown) + 0.1 * len(shown) * slots))
    lowest, highest = 1.0, 1.0
    for j, case in enumerate(shown):
        rows = results[case.key]
        here = [tk for tk in toolkits if tk in rows]  # this case's toolkits, centred on its row
        for i, tk in enumerate(here):
            y = j + (i - (len(here) - 1) / 2) * height
            row = rows[tk]
            ratio = better_ratio(case, row.median, rows[BASELINE].median)
            if row.status != "ok" or ratio is None:
                if tk == "greenpatch":
                    ax.text(1.02, y, f"greenpatch: {row.status}", va="center", fontsize=7)
                continue
            lowest, highest = min(lowest, ratio), max(highest, ratio)
            ax.barh(y, ratio - 1, left=1, height=height, color=colors[tk])
            if tk == "greenpatch":
                ax.text(max(ratio, 1) * 1.02, y, f"{ratio:.2f}x", va="center", fontsize=7)
    handles = [Patch(color=colors[tk], label=tk) for tk in toolkits]
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log", base=2)
    ax.set_xlim(min(0.5, lowest / 1.3), max(2.0, highest * 1.3))
    ticks = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8, 16)
    ticks = [t for t in ticks if lowest / 1.3 <= t <= max(2.0, highest * 1.3)]
    ax.set_xticks(ticks, [f"{t:g}x" for t in ticks])
    ax.set_yticks(range(len(shown)), [c.key for c in shown])
    ax.invert_yaxis()
    ax.set_xlabel("times better than gevent (log scale; 1x = gevent, right of it = better)")
    quick = ", quick run: not meaningful" if meta["quick"] else ""
    ax.set_title(
        f"greenpatch benchmarks: median of {meta['rounds']} round(s), Python {meta['python']}, "
        f"{meta['cpus']} CPU(s){quick}",
        fontsize=10,
    )
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False
    )
    ax.grid(axis="x", which="major", alpha=0.3)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return f"chart: {path}"
