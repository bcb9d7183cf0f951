"""Parity and loss-curve figures (PNG) of a training, with matplotlib's Agg canvas.

The Agg canvas is used directly (``matplotlib.figure.Figure`` + ``FigureCanvasAgg``), so no global
backend is switched and nothing needs a display. Files are written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.atomic import atomic_path
from ..spectrum import Table

_PROPERTIES = (("energy_mev_per_atom", "Energy (meV/atom)"),
               ("force_mev_per_angstrom", "Force (meV/Angstrom)"),
               ("virial_mev_per_atom", "Virial (meV/atom)"))


def _save(figure, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # matplotlib: a second to import, only to plot

    FigureCanvasAgg(figure)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=120)


def plot_parity(parity: Table, path: str | Path, model: str | None = None) -> Path:
    """Predicted against target for energies, forces and virials of one model (default: the
    first in the table), one colour per data set."""
    from matplotlib.figure import Figure  # matplotlib: a second to import, only to plot

    columns = parity.columns
    models = list(dict.fromkeys(columns["model"]))
    model = model or (models[0] if models else "")
    selected = np.asarray(columns["model"]) == model
    figure = Figure(figsize=(12, 4), layout="constrained")
    axes = figure.subplots(1, 3)
    properties = np.asarray(columns["property"])
    datasets = np.asarray(columns["dataset"])
    target = np.asarray(columns["target"], float)
    predicted = np.asarray(columns["predicted"], float)
    for ax, (name, label) in zip(axes, _PROPERTIES):
        rows = selected & (properties == name)
        if not rows.any():
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
            ax.set_title(label)
            continue
        for dataset in dict.fromkeys(datasets[rows]):
            these = rows & (datasets == dataset)
            ax.scatter(target[these], predicted[these], s=4, alpha=0.6, label=dataset)
        low = min(target[rows].min(), predicted[rows].min())
        high = max(target[rows].max(), predicted[rows].max())
        ax.plot([low, high], [low, high], color="black", linewidth=0.8)
        ax.set_xlabel(f"Target {label}")
        ax.set_ylabel(f"Predicted {label}")
        ax.legend(loc="upper left", fontsize="small")
    figure.suptitle(f"NEP parity: {model}")
    _save(figure, Path(path))
    return Path(path)


def plot_loss(loss: Table, path: str | Path) -> Path:
    """RMSE of energies and forces against generation, one line per model (log scales)."""
    from matplotlib.figure import Figure  # matplotlib: a second to import, only to plot

    columns = loss.columns
    figure = Figure(figsize=(10, 4), layout="constrained")
    axes = figure.subplots(1, 2)
    models = np.asarray(columns["model"])
    generation = np.asarray(columns["generation"], float)
    for ax, quantity, label in ((axes[0], "energy_rmse_{}_mev_per_atom", "Energy RMSE (meV/atom)"),
                                (axes[1], "force_rmse_{}_mev_per_angstrom",
                                 "Force RMSE (meV/Angstrom)")):
        for model in dict.fromkeys(models):
            rows = models == model
            for split, style in (("train", "-"), ("test", "--")):
                values = np.asarray(columns[quantity.format(split)], float)[rows]
                if np.all(~np.isfinite(values) | (values <= 0)):
                    continue
                ax.plot(generation[rows], values, style,
                        label=f"{model} {'validation/test' if split == 'test' else split}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("Generation (step)")
        ax.set_ylabel(label)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")
        else:  # no positive finite RMSE (a run of a step or two): say so, not a bare axis
            ax.text(0.5, 0.5, "no finite RMSE recorded", transform=ax.transAxes,
                    ha="center", va="center")
    figure.suptitle("NEP loss curves")
    _save(figure, Path(path))
    return Path(path)
