"""Plots: what is drawn equals the data given; PNG files decode at the expected size."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import LogNorm
from matplotlib.image import imread

from mantid_mdinsim import plotting
from mantid_mdinsim.plotting import make_figure, overlay_scale, save_plot
from mantid_mdinsim.spectrum import Spectrum, energy_axis, momentum_axis, text_axis


def _sqw() -> Spectrum:
    energy_edges = np.linspace(0.0, 100.0, 51)
    q = np.linspace(0.5, 5.0, 10)
    centres = 0.5 * (energy_edges[1:] + energy_edges[:-1])
    values = np.exp(-((centres[None, :] - 10.0 * q[:, None]) ** 2) / 50.0) + 1e-3
    return Spectrum(x=energy_axis(energy_edges), values=values, vertical=momentum_axis(q),
                    name="sqw", y_unit_label="S(Q,w) (1/meV)")


def _gaussian(name: str, centre: float) -> Spectrum:
    energy = np.linspace(0.0, 50.0, 101)
    return Spectrum(x=energy_axis(energy), values=np.exp(-((energy - centre) ** 2) / 8.0),
                    name=name)


def test_colour_map_draws_the_values(tmp_path):
    spectrum = _sqw()
    figure = make_figure(spectrum, log_scale=True)
    # One image of the cells (pcolorfast; uniform axes here): the values as given, between
    # the X bin edges and the |Q| cell edges (was a QuadMesh, whose 80,000 paths for 400
    # q-points cost a third of drawing an S(q,w) map; the same cells).
    (image,) = figure.axes[0].images
    np.testing.assert_array_equal(np.asarray(image.get_array()), spectrum.values)
    assert isinstance(image.norm, LogNorm)
    left, right, bottom, top = image.get_extent()
    assert (left, right) == pytest.approx((spectrum.x.values[0], spectrum.x.values[-1]))
    step = spectrum.vertical.values[1] - spectrum.vertical.values[0]
    assert (bottom, top) == pytest.approx((spectrum.vertical.values[0] - step / 2,
                                           spectrum.vertical.values[-1] + step / 2))
    # the colour bar's decades labelled 10^n without mathtext, no minor ticks
    bar = figure.axes[1]
    labels = [label.get_text() for label in bar.get_yticklabels()]
    assert "10\u207b\u00b2" in labels and all("$" not in label for label in labels)
    assert len(bar.yaxis.get_minorticklocs()) == 0
    assert figure.axes[0].get_xlabel() == "Energy transfer (meV)"
    assert figure.axes[0].get_ylabel() == "|Q| (1/Angstrom)"
    path = save_plot(spectrum, tmp_path / "sqw.png", size_inches=(6, 4), dpi=50)
    assert imread(path).shape[:2] == (200, 300)
    assert [p.name for p in tmp_path.iterdir()] == ["sqw.png"]


def test_lines_and_scaled_overlay():
    first, second = _gaussian("H", 20.0), _gaussian("O", 30.0)
    partials = Spectrum(x=energy_axis(np.linspace(0.0, 50.0, 6)), values=np.ones((2, 5)),
                        vertical=text_axis(["coherent", "incoherent"]))
    experiment_energy = np.array([15.0, 20.0, 25.0, 60.0])          # 60 meV: outside
    experiment = Spectrum(x=energy_axis(experiment_energy),
                          values=0.5 * np.exp(-((experiment_energy - 20.0) ** 2) / 8.0),
                          errors=np.full(4, 0.01), name="measured")
    figure = make_figure([first, second, partials], overlay=experiment, title="water")
    ax = figure.axes[0]
    lines = ax.get_lines()
    np.testing.assert_array_equal(lines[0].get_xdata(), first.x.values)
    np.testing.assert_array_equal(lines[0].get_ydata(), first.values[0])
    np.testing.assert_array_equal(lines[1].get_ydata(), second.values[0])
    np.testing.assert_array_equal(lines[2].get_xdata(), [5.0, 15.0, 25.0, 35.0, 45.0])
    assert [line.get_label() for line in lines[:4]] == ["H", "O", "coherent", "incoherent"]
    # The experiment is half the first curve, so the least-squares scale is 2 (to interpolation
    # accuracy on the simulated grid, which holds 15, 20 and 25 meV exactly).
    assert overlay_scale(first, experiment) == pytest.approx(2.0, rel=1e-12)
    points = lines[4]
    np.testing.assert_allclose(points.get_ydata(), 2.0 * experiment.values[0])
    assert figure.texts[0].get_text() == "water"


def test_save_plot_is_atomic_and_checks_input(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="separate plots"):
        make_figure([_sqw(), _gaussian("H", 20.0)])
    with pytest.raises(ValueError, match="overlay is drawn on line plots"):
        make_figure(_sqw(), overlay=_gaussian("x", 1.0))

    def fail(*args, **kwargs):
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(plotting.Figure, "savefig", fail)
    with pytest.raises(RuntimeError):
        save_plot(_gaussian("H", 20.0), tmp_path / "line.png")
    assert list(tmp_path.iterdir()) == []
