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


def write_plots(outcomes: Sequence[Outcome], directory: Path) -> list[Path]:
    plt = _pyplot()
    directory.mkdir(parents=True, exist_ok=True)

    fig, ax = plt.subplots(figsize=(9, 5))
    for outcome in outcomes:
        waits = sorted(w / 60 for w in outcome.measures.waits.values())
        if waits:
            ax.plot(waits, [(i + 1) / len(waits) for i in range(len(waits))], label=outcome.measures.strategy)
    ax.set_xlabel("wait (minutes)")
    ax.set_ylabel("share of started requests")
    ax.set_title("Wait distribution per strategy")
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
