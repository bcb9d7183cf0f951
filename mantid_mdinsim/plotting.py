"""Pictures of spectra: colour maps of S(|Q|, w) and lines of 1-D spectra, with an experiment.

:func:`make_figure` builds a matplotlib :class:`~matplotlib.figure.Figure` (no pyplot, no
screen: the Agg canvas) and :func:`save_plot` writes it atomically (PNG, SVG or PDF from the
file's suffix).

* A :class:`~mantid_mdinsim.spectrum.Spectrum` with a numeric vertical axis and several spectra
  is drawn as a colour map (``pcolormesh``): energy transfer (X, meV) across, the vertical axis
  (|Q| in 1/Angstrom) up, intensity as colour on a linear or logarithmic scale.
* A Spectrum with one spectrum, or with a text vertical axis (labelled partial spectra), is
  drawn as lines on one axis (bin centres for histogram X), labelled by the text axis or by the
  spectrum's name; several such spectra share the axis.
* ``overlay``: a 1-D experimental spectrum drawn as points with error bars, multiplied by a
  scale factor: given, or the least-squares factor that matches the experiment to the first
  simulated line at the experiment's energies (inside the simulated range).

Axis titles come from :attr:`Axis.title <mantid_mdinsim.spectrum.Axis.title>`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from .io.atomic import atomic_path
from .spectrum import Axis, Spectrum

__all__ = ["make_figure", "save_plot", "overlay_scale"]

#: Figure size in inches and resolution of saved bitmaps (800 x 600 pixels by default).
DEFAULT_SIZE_INCHES = (8.0, 6.0)
DEFAULT_DPI = 100


def _as_list(workspaces: Spectrum | Sequence[Spectrum]) -> list[Spectrum]:
    items = [workspaces] if isinstance(workspaces, Spectrum) else list(workspaces)
    if not items:
        raise ValueError("nothing to plot: give at least one Spectrum")
    for index, item in enumerate(items):
        if not isinstance(item, Spectrum):
            raise TypeError(f"item {index} is a {type(item).__name__}, not a Spectrum")
    return items


def _is_map(spectrum: Spectrum) -> bool:
    return spectrum.n_spectra > 1 and not spectrum.vertical.is_text


def _edges(axis: Axis, n_points: int) -> np.ndarray:
    """Cell boundaries for pcolormesh: the bin edges, or midpoints between points."""
    values = axis.values
    if len(values) == n_points + 1:
        return values
    if n_points == 1:
        return np.array([values[0] - 0.5, values[0] + 0.5])
    middle = 0.5 * (values[1:] + values[:-1])
    return np.concatenate([[2 * values[0] - middle[0]], middle, [2 * values[-1] - middle[-1]]])


def _intensity_label(spectrum: Spectrum) -> str:
    return spectrum.y_unit_label or spectrum.y_unit or "Intensity"


def _line_labels(spectrum: Spectrum) -> list[str]:
    if spectrum.vertical.is_text:
        return [label or spectrum.name or "spectrum" for label in spectrum.vertical.labels]
    return [spectrum.name or spectrum.title or "spectrum"] * spectrum.n_spectra


def overlay_scale(simulated: Spectrum, experiment: Spectrum) -> float:
    """Least-squares factor s minimising sum((s * I_exp - I_sim)^2) over the experiment's
    energies inside the simulated range (simulation interpolated linearly at those
    energies, first spectrum of each). 1.0 when there is no overlap."""
    energy = experiment.x_centres()
    simulated_energy = simulated.x_centres()
    inside = (energy >= simulated_energy.min()) & (energy <= simulated_energy.max())
    measured = experiment.values[0]
    inside &= np.isfinite(measured)
    if not np.any(inside):
        return 1.0
    model = np.interp(energy[inside], simulated_energy, simulated.values[0])
    denominator = float(np.sum(measured[inside] ** 2))
    return float(np.sum(model * measured[inside]) / denominator) if denominator > 0 else 1.0


def make_figure(workspaces: Spectrum | Sequence[Spectrum], *, overlay: Spectrum | None = None,
                title: str | None = None, log_scale: bool = False,
                overlay_factor: float | None = None,
                size_inches: tuple[float, float] = DEFAULT_SIZE_INCHES) -> Figure:
    """A Figure of ``workspaces``: one colour-map panel per 2-D spectrum, or one panel of lines.

    Parameters
    ----------
    workspaces
        Spectra to draw. Colour maps (numeric vertical axis, several spectra) and lines cannot
        be mixed in one call.
    overlay
        Experimental 1-D spectrum drawn as scaled points with error bars (line plots only).
    title
        Figure title (default: the title or name of the first spectrum).
    log_scale
        Logarithmic colour scale for maps, logarithmic intensity axis for lines.
    overlay_factor
        Scale for the overlay; by default :func:`overlay_scale` against the first line.
    size_inches
        Figure size; saved bitmaps have ``size_inches * dpi`` pixels.
    """
    items = _as_list(workspaces)
    maps = [item for item in items if _is_map(item)]
    if maps and len(maps) != len(items):
        raise ValueError("colour maps (2-D spectra with a numeric vertical axis) and line "
                         "spectra go in separate plots")
    if overlay is not None and overlay.n_spectra != 1:
        raise ValueError("the experimental overlay must be one spectrum (1-D)")
    if maps and overlay is not None:
        raise ValueError("an experimental overlay is drawn on line plots, not colour maps")
    figure = Figure(figsize=size_inches)
    FigureCanvasAgg(figure)  # Agg: renders without a screen
    if title is None:
        title = items[0].title or items[0].name
    if maps:
        axes = figure.subplots(1, len(maps), squeeze=False)[0]
        for ax, spectrum in zip(axes, maps):
            _draw_map(figure, ax, spectrum, log_scale)
    else:
        ax = figure.add_subplot()
        _draw_lines(ax, items, overlay, log_scale, overlay_factor)
    if title:
        figure.suptitle(title)
    return figure


#: Superscript digits and minus, for decade labels drawn without mathtext.
_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075"
                                            "\u2076\u2077\u2078\u2079")


def _decade_label(value: float, _position=None) -> str:
    """10 with a superscript exponent for a power of ten (the major ticks of a log colour
    bar), else the number: the picture of mathtext's "10^{-3}" without its parser, which cost
    a third of drawing an S(q,w) map."""
    if value > 0:
        exponent = np.log10(value)
        if abs(exponent - round(exponent)) < 1e-9:
            return "10" + str(int(round(exponent))).translate(_SUPERSCRIPT)
    return f"{value:g}"


def _draw_map(figure: Figure, ax, spectrum: Spectrum, log_scale: bool) -> None:
    """The colour map: one cell per value between the cell edges of both axes, drawn as an
    image (``pcolorfast``: a regular image on uniform axes, a rectilinear one otherwise; the
    same cells as ``pcolormesh``, which drew every cell as a path: 80,000 of them for 400
    q-points). The colour bar has major ticks only."""
    values = np.ma.masked_invalid(spectrum.values)
    if log_scale:
        positive = values[values > 0]
        if positive.count() == 0:
            raise ValueError(f"spectrum '{spectrum.name}' has no positive values for a "
                             "logarithmic colour scale")
        top = float(positive.max())
        # Down to 1e-4 of the maximum: below that a log map shows noise, not physics.
        norm = LogNorm(vmin=max(float(positive.min()), top * 1e-4), vmax=top)
        values = np.ma.masked_less_equal(values, 0)
    else:
        norm = Normalize(vmin=float(values.min()), vmax=float(values.max()))
    image = ax.pcolorfast(_edges(spectrum.x, spectrum.n_x),
                          _edges(spectrum.vertical, spectrum.n_spectra), values, norm=norm)
    ax.set_xlabel(spectrum.x.title)
    ax.set_ylabel(spectrum.vertical.title)
    if spectrum.name:
        ax.set_title(spectrum.name)
    bar = figure.colorbar(image, ax=ax, label=_intensity_label(spectrum))
    bar.minorticks_off()
    if log_scale:
        bar.formatter = FuncFormatter(_decade_label)
        bar.update_ticks()


def _draw_lines(ax, items: list[Spectrum], overlay: Spectrum | None, log_scale: bool,
                overlay_factor: float | None) -> None:
    for spectrum in items:
        energy = spectrum.x_centres()
        for row, label in zip(spectrum.values, _line_labels(spectrum)):
            ax.plot(energy, row, label=label)
    if overlay is not None:
        factor = overlay_scale(items[0], overlay) if overlay_factor is None else overlay_factor
        ax.errorbar(overlay.x_centres(), factor * overlay.values[0],
                    yerr=factor * overlay.errors[0], fmt="o", markersize=3, color="black",
                    label=f"{overlay.name or 'experiment'} (x {factor:.3g})")
    ax.set_xlabel(items[0].x.title)
    ax.set_ylabel(_intensity_label(items[0]))
    if log_scale:
        ax.set_yscale("log")
    ax.legend()


def save_plot(workspaces: Spectrum | Sequence[Spectrum], path: str | os.PathLike, *,
              overlay: Spectrum | None = None, title: str | None = None,
              log_scale: bool = False, overlay_factor: float | None = None,
              size_inches: tuple[float, float] = DEFAULT_SIZE_INCHES,
              dpi: int = DEFAULT_DPI) -> Path:
    """Draw ``workspaces`` (see :func:`make_figure`) and write the picture to ``path``
    atomically; the format follows the suffix (``.png``, ``.svg``, ``.pdf``; PNG if none).
    A PNG has ``size_inches[0] * dpi`` by ``size_inches[1] * dpi`` pixels."""
    path = Path(path)
    figure = make_figure(workspaces, overlay=overlay, title=title, log_scale=log_scale,
                         overlay_factor=overlay_factor, size_inches=size_inches)
    file_format = path.suffix[1:].lower() or "png"
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format=file_format, dpi=dpi)
    return path
