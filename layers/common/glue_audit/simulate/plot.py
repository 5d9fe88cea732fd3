"""PNGs of a simulation: wait distributions and DPUs in use over time, one line per strategy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glue_audit.config.distribution import install_hint
from glue_audit.insights.operator_report import PlottingUnavailable

if TYPE_CHECKING:
    from glue_audit.simulate import Outcome

WAITS_PNG = "waits.png"
UTILISATION_PNG = "utilisation.png"


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise PlottingUnavailable(
            f"--plot needs matplotlib, which is not installed here: {install_hint('matplotlib')}"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def wait_curve(outcome: Outcome) -> tuple[list[float], list[float], str, float | None]:
    """The wait distribution over every request (minutes, share), its legend label, and where the
    requests that never ran sit (their wait runs to the horizon; None if every request ran)."""
    summary = outcome.summary
    started = sorted(w / 60 for w in outcome.measures.waits.values())
    never = int(summary["never_ran"])
    horizon = summary["horizon_s"] / 60
    waits = sorted(started + [horizon] * never)
    total = len(waits)
    label = outcome.measures.strategy + (f" ({never} never ran)" if never else "")
    return waits, [(i + 1) / total for i in range(total)], label, horizon if never else None


def write_plots(outcomes: Sequence[Outcome], directory: Path) -> list[Path]:
    plt = _pyplot()
    directory.mkdir(parents=True, exist_ok=True)

    fig, ax = plt.subplots(figsize=(9, 5))
    for outcome in outcomes:
        xs, ys, label, never_at = wait_curve(outcome)
        if xs:
            (line,) = ax.plot(xs, ys, label=label)
            if never_at is not None:  # the never-ran requests: a vertical jump at the horizon, marked
                first = next(i for i, x in enumerate(xs) if x >= never_at)
                ax.plot([never_at], [ys[first - 1] if first else 0.0], marker="x", color=line.get_color())
    ax.set_xlabel("wait (minutes); a request that never ran waits until the horizon (x)")
    ax.set_ylabel("share of all requests")
    ax.set_title("Wait distribution per strategy (every request)")
    ax.legend()
    waits_path = directory / WAITS_PNG
    fig.savefig(waits_path, dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 5))
    for outcome in outcomes:
        series = outcome.measures.series
        if series:
            ax.step(
                [t / 3600 for t, _, _ in series],
                [d for _, _, d in series],
                where="post",
                label=outcome.measures.strategy,
            )
    if outcomes:
        budget = outcomes[0].summary["bounds"]["dpus"]
        ax.axhline(budget, color="black", linestyle="--", linewidth=1, label="DPU budget")
    ax.set_xlabel("hours since the workload's start")
    ax.set_ylabel("DPUs in use")
    ax.set_title("Utilisation over time per strategy")
    ax.legend()
    util_path = directory / UTILISATION_PNG
    fig.savefig(util_path, dpi=100)
    plt.close(fig)
    return [waits_path, util_path]
