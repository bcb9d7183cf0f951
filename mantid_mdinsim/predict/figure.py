"""The picture of a prediction: ``prediction.png``.

* Left: the MD prediction. Indirect geometry: S(w) per meV at each temperature, the experiment
  drawn over it (scaled by the least-squares factor of the report); with the incoherent
  approximation (predict's default with the harmonic comparison) the full S(q,w), what the
  instrument measures, is drawn dashed beside it. Each label says its approximation. Direct geometry: the
  S(|Q|, w) map of the first temperature above, and below it the |Q|-averaged S(w) of each
  temperature with the experiment.
* Right (with the harmonic comparison): the harmonic spectrum of the same model through the
  same instrument, laid out the same way, so that the two are read side by side.

matplotlib without pyplot (the Agg canvas: no screen needed); written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from ..approximation import FULL, INCOHERENT, approximation_of
from ..io.atomic import atomic_path
from ..spectrum import Spectrum
from .parameters import PredictSettings
from .curves import spectrum_1d
from .report import compare_with_experiment

#: Size of one panel column in inches, and the resolution of the PNG.
COLUMN_INCHES = (6.0, 4.5)
DPI = 100


def _short(spectrum: Spectrum) -> str:
    """The approximation a curve holds, for its label."""
    return {INCOHERENT: ", incoherent approx.", FULL: ", full S(q,w)"}.get(
        approximation_of(spectrum.logs) or "", "")


def _is_map(spectrum: Spectrum) -> bool:
    return spectrum.n_spectra > 1 and not spectrum.vertical.is_text


def _draw_map(figure: Figure, ax, spectrum: Spectrum, title: str) -> None:
    values = np.ma.masked_invalid(spectrum.values)
    positive = values[values > 0]
    norm = None
    if positive.count():
        top = float(positive.max())
        norm = LogNorm(vmin=max(float(positive.min()), 1e-3 * top), vmax=top)
        values = np.ma.masked_less_equal(values, 0)
    x = spectrum.x.values if spectrum.is_histogram else spectrum.x_centres()
    y = spectrum.vertical.values
    shading = "flat" if len(x) == spectrum.n_x + 1 and len(y) == spectrum.n_spectra + 1 \
        else "nearest"
    if shading == "nearest":
        x, y = spectrum.x_centres(), spectrum.vertical_centres()
    mesh = ax.pcolormesh(x, y, values, norm=norm, shading=shading)
    ax.set_xlabel(spectrum.x.title)
    ax.set_ylabel(spectrum.vertical.title)
    ax.set_title(title, fontsize=10)
    figure.colorbar(mesh, ax=ax, label="S(|Q|,w) (log scale)")


def _draw_lines(ax, curves: Sequence[tuple[str, np.ndarray, np.ndarray]],
                experiment: Spectrum | None, settings: PredictSettings, title: str,
                extra: Sequence[tuple[str, np.ndarray, np.ndarray]] = ()) -> None:
    """Curves, then ``extra`` curves drawn thin and dashed; the experiment is scaled to the
    first extra curve (the full MD spectrum) if there is one, else to the first curve."""
    for label, energy, values in curves:
        ax.plot(energy, values, label=label)
    for label, energy, values in extra:
        ax.plot(energy, values, label=label, linestyle="--", linewidth=1.0)
    if experiment is not None and curves:
        # Scaled to the full MD spectrum where it is drawn (a measurement holds the full S).
        _, energy, values = extra[0] if extra else curves[0]
        comparison = compare_with_experiment(energy, values, experiment,
                                             settings.compare_energy_min_mev,
                                             settings.compare_energy_max_mev)
        scale = comparison.get("scale_factor")
        if scale:
            # experiment = scale x prediction, so the experiment is drawn divided by it.
            ax.errorbar(experiment.x_centres(), experiment.values[0] / scale,
                        yerr=experiment.errors[0] / abs(scale), fmt="o", markersize=2.5,
                        color="black", elinewidth=0.6,
                        label=f"{experiment.name or 'experiment'} (/ {scale:.3g})")
    _limit_energy_range(ax, curves)
    ax.set_xlabel("Energy transfer (meV)")
    ax.set_ylabel("S(w) (per meV, arbitrary scale)")
    ax.set_title(title, fontsize=10)
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.legend(fontsize=8)


def _draw_model_bands(ax, results: Sequence[Any], harmonic: bool = False) -> None:
    """The ensemble's model spread (see :mod:`.ensemble`) as a shaded band on each MD curve
    (scaled to it) or, with ``harmonic``, on the harmonic curve (as computed)."""
    for result in results:
        spread = getattr(result, "model_spread", None)
        if spread is None:
            continue
        energy, values = spectrum_1d(result.harmonic if harmonic else result.spectrum)
        centre = np.interp(spread.energy_mev, energy, values)
        lower, upper = ((centre - spread.spread, centre + spread.spread) if harmonic
                        else spread.band(centre))
        ax.fill_between(spread.energy_mev, lower, upper, alpha=0.3, linewidth=0,
                        label=f"model spread ({len(spread.model_names)} models, "
                              f"{result.temperature_k:g} K)")
    ax.legend(fontsize=8)


def _limit_energy_range(ax, curves: Sequence[tuple[str, np.ndarray, np.ndarray]]) -> None:
    """Energies up to a little beyond where the last curve falls below 1 % of its maximum:
    S(q,w) reaches pi hbar / dt, far above the highest vibration."""
    ends = []
    for _, energy, values in curves:
        finite = np.isfinite(values)
        if not np.any(finite):
            continue
        strong = finite & (values > 0.01 * np.nanmax(values))
        if np.any(strong):
            ends.append(float(np.max(energy[strong])))
    if ends:
        ax.set_xlim(right=1.15 * max(ends))


def make_prediction_figure(results: Sequence[Any], experiment: Spectrum | None,
                           settings: PredictSettings) -> Figure:
    """The figure (see the module documentation) of :func:`~.core.predict`'s results."""
    instrument = settings.instrument
    harmonic = [r for r in results if r.harmonic is not None]
    columns = 2 if harmonic else 1
    direct = _is_map(results[0].spectrum)
    rows = 2 if direct else 1
    figure = Figure(figsize=(COLUMN_INCHES[0] * columns, COLUMN_INCHES[1] * rows))
    FigureCanvasAgg(figure)
    axes = np.array(figure.subplots(rows, columns, squeeze=False))

    md_curves = [(f"MD {r.temperature_k:g} K{_short(r.spectrum)}", *spectrum_1d(r.spectrum))
                 for r in results]
    full_curves = [(f"MD {r.temperature_k:g} K, full S(q,w) (measured)",
                    *spectrum_1d(r.full_spectrum)) for r in results
                   if r.full_spectrum is not None]
    model = _short(results[0].spectrum)
    if direct:
        first = results[0]
        _draw_map(figure, axes[0, 0], first.spectrum,
                  f"MD prediction{model}, {instrument}, {first.temperature_k:g} K")
    _draw_lines(axes[-1, 0], md_curves, experiment, settings,
                f"MD prediction, {instrument}" + (", averaged over |Q|" if direct else ""),
                extra=full_curves)
    _draw_model_bands(axes[-1, 0], results)
    if harmonic:
        if direct:
            _draw_map(figure, axes[0, 1], harmonic[0].harmonic,
                      f"harmonic (phonopy + abinslib), {instrument}, "
                      f"{harmonic[0].temperature_k:g} K")
        curves = [(f"harmonic {r.temperature_k:g} K{_short(r.harmonic)}",
                   *spectrum_1d(r.harmonic)) for r in harmonic]
        _draw_lines(axes[-1, 1], curves, experiment, settings,
                    "harmonic, same model and instrument"
                    + (", averaged over |Q|" if direct else ""))
        _draw_model_bands(axes[-1, 1], harmonic, harmonic=True)
        # Same energy range side by side.
        low = min(ax.get_xlim()[0] for ax in axes[-1])
        high = max(ax.get_xlim()[1] for ax in axes[-1])
        for ax in axes[-1]:
            ax.set_xlim(low, high)
    # Two lines in a one-column figure, so that long file names are not cut off.
    separator = " " if columns > 1 else "\n"
    figure.suptitle(f"mdinsim predict: {Path(str(settings.structure)).name}{separator}with "
                    f"{Path(str(settings.model)).name} at {instrument}")
    figure.tight_layout()
    return figure


def save_prediction_figure(results: Sequence[Any], experiment: Spectrum | None,
                           settings: PredictSettings, path: str | Path) -> Path:
    """Draw the figure and write it as PNG (atomically)."""
    path = Path(path)
    figure = make_prediction_figure(results, experiment, settings)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=DPI)
    return path
