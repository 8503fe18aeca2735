"""The report's two PNG charts (matplotlib, Agg backend: no display needed): monthly cost against requests a day per
option, and each option's cost split into model, storage, transfer and maintenance, now and at the horizon."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.tco.options import Option

CATEGORIES = (("model", "model (tokens, instances, units)"), ("storage", "storage"),
              ("data_transfer", "data transfer"), ("maintenance", "maintenance"))  # fmt: skip
COLOURS = ("#4C72B0", "#55A868", "#C44E52", "#8172B2")


def volumes(low: int, high: int, points: int = 240) -> list[int]:
    """Whole requests a day, evenly spaced on a log scale from ``low`` to ``high`` (both included)."""
    if points < 2 or high <= low:
        return [low] if high <= low else [low, high]
    ratio = math.log(high / low) / (points - 1)
    return sorted({low, high, *(round(low * math.exp(i * ratio)) for i in range(points))})


def _pyplot() -> Any:
    import matplotlib  # noqa: PLC0415 - tools only, loaded when a chart is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def cost_curves(
    path: Path, title: str, priced: Sequence[Option], span: tuple[int, int], marks: Sequence[tuple[str, int]]
) -> Path:
    """Monthly cost (USD, log) against requests a day (log) for every priced option; ``marks`` draws the volumes
    named (now, horizon) as vertical lines; ``span``: the lowest and highest requests a day drawn. Hosting shows
    its steps: one instance more is one step up."""
    plt = _pyplot()
    xs = volumes(*span)
    figure, axes = plt.subplots(figsize=(10, 6), dpi=100)
    for option in priced:
        assert option.monthly is not None
        dashed = option.kind in ("batch", "provisioned")
        axes.plot(
            xs,
            [option.monthly(x).breakdown.total for x in xs],
            label=option.name,
            linestyle="--" if dashed else "-",
            drawstyle="steps-post" if option.kind in ("hosted", "provisioned") else "default",
        )
    for label, x in marks:
        axes.axvline(x, color="grey", linestyle=":", linewidth=1)
        axes.annotate(label, (x, 1), xycoords=("data", "axes fraction"), rotation=90, va="top", ha="right", fontsize=8)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("requests a day (log scale)")
    axes.set_ylabel("USD a month (log scale)")
    axes.set_title(title, fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    return _save(plt, figure, path, title)


def breakdown_bars(path: Path, title: str, priced: Sequence[Option], columns: Sequence[tuple[str, int]]) -> Path:
    """One panel per (label, requests a day) of ``columns``: a stacked horizontal bar per option."""
    plt = _pyplot()
    figure, panels = plt.subplots(1, len(columns), figsize=(7 * len(columns), 0.5 * len(priced) + 2), dpi=100)
    panels = panels if len(columns) > 1 else [panels]
    names = [o.name for o in priced]
    for index, (panel, (label, volume)) in enumerate(zip(panels, columns, strict=True)):
        costs = [o.monthly(volume).breakdown for o in priced if o.monthly is not None]
        left = [0.0] * len(costs)
        for (attribute, legend), colour in zip(CATEGORIES, COLOURS, strict=True):
            values = [getattr(c, attribute) for c in costs]
            panel.barh(names, values, left=left, color=colour, label=legend)
            left = [a + b for a, b in zip(left, values, strict=True)]
        panel.set_title(f"{label}: {volume:,} requests a day", fontsize=9)
        panel.set_xlabel("USD a month")
        panel.invert_yaxis()
        if index:
            panel.set_yticklabels([])
        else:
            panel.tick_params(axis="y", labelsize=7)
    panels[-1].legend(fontsize=7, loc="lower right")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return _save(plt, figure, path, title)


def _save(plt: Any, figure: Any, path: Path, title: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", metadata={"Title": title})
    plt.close(figure)
    return path
