"""--experiment: a synthetic measurement of known scale is recovered in the report and drawn in
the figure, from a text file and from a Mantid processed NeXus file in wavenumbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mantid_mdinsim.io.nexus import save_processed_nexus
from mantid_mdinsim.predict import compare_with_experiment, predict, spectrum_1d
from mantid_mdinsim.spectrum import UNIT_DELTA_E_WAVENUMBER, Axis, Spectrum
from mantid_mdinsim.units import MEV_PER_INVERSE_CM

from .conftest import TINY

SCALE = 2.5


def synthetic(result, scale: float, seed: int = 3):
    """The prediction (the full MD spectrum: what is measured, and what the report compares a
    measurement with) times ``scale`` on another energy grid (every 0.7 meV, 5 to 60 meV) with
    2 % Gaussian noise: (energy meV, intensity, error)."""
    energy, values = spectrum_1d(result.temperatures[0].full_spectrum)
    finite = np.isfinite(values)
    grid = np.arange(5.0, 60.0, 0.7)
    clean = scale * np.interp(grid, energy[finite], values[finite])
    noise = np.random.default_rng(seed).normal(0.0, 0.02, grid.shape)
    return grid, clean * (1 + noise), 0.02 * np.abs(clean)


def test_text_experiment_gives_the_known_scale(tiny_prediction, tmp_path):
    _, _, first, folder = tiny_prediction
    energy, intensity, error = synthetic(first, SCALE)
    path = tmp_path / "measured.txt"
    np.savetxt(path, np.column_stack([energy, intensity, error]),
               header="energy_transfer_mev intensity error")
    result = predict(dict(TINY, output_dir=str(folder), experiment=str(path)))
    assert set(result.stages.values()) == {"skipped"}  # nothing recomputed for a comparison
    comparison = result.report["temperatures"][0]["experiment"]
    assert comparison["scale_factor"] == pytest.approx(SCALE, rel=0.01)
    assert comparison["points_compared"] == len(energy)
    assert comparison["relative_mean_squared_error"] < 2e-3
    assert comparison["md_curve_approximation"] == "full"
    # The harmonic spectrum is another shape: a clearly worse match.
    assert result.report["temperatures"][0]["harmonic_experiment"][
        "relative_mean_squared_error"] > 10 * comparison["relative_mean_squared_error"]
    text = (folder / "report.txt").read_text()
    assert f"experiment = {comparison['scale_factor']:.4g} x prediction" in text
    report = json.loads((folder / "report.json").read_text())
    assert report["experiment_file"] == str(path)


def test_comparison_range_and_the_figure(tiny_prediction, tmp_path):
    from mantid_mdinsim.predict.figure import make_prediction_figure

    _, _, first, folder = tiny_prediction
    energy, intensity, error = synthetic(first, SCALE)
    path = tmp_path / "measured.csv"
    np.savetxt(path, np.column_stack([energy, intensity]), delimiter=",")
    result = predict(dict(TINY, output_dir=str(folder), experiment=str(path),
                          compare_energy_min_mev=40.0, compare_energy_max_mev=60.0))
    comparison = result.report["temperatures"][0]["experiment"]
    low, high = comparison["energy_range_compared_mev"]
    assert 40.0 <= low and high <= 60.0
    assert comparison["scale_factor"] == pytest.approx(SCALE, rel=0.02)
    figure = make_prediction_figure(result.temperatures, result.experiment, result.parameters)
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert any(label.startswith("measured (/ 2.5") for label in labels), labels


def test_nexus_experiment_in_wavenumbers(tiny_prediction, tmp_path):
    _, _, first, folder = tiny_prediction
    energy, intensity, error = synthetic(first, 0.5)
    measured = Spectrum(x=Axis(values=energy / MEV_PER_INVERSE_CM, unit=UNIT_DELTA_E_WAVENUMBER),
                        values=intensity, errors=error, name="tosca_reduced")
    path = save_processed_nexus(tmp_path / "measured.nxs", [measured])
    result = predict(dict(TINY, output_dir=str(folder), experiment=str(path)))
    assert result.experiment.x.unit == "DeltaE"
    np.testing.assert_allclose(result.experiment.x_centres(), energy)
    comparison = result.report["temperatures"][0]["experiment"]
    assert comparison["scale_factor"] == pytest.approx(0.5, rel=0.01)


def test_no_overlap_is_reported_not_guessed():
    prediction = Spectrum(x=Axis(values=np.linspace(0, 10, 11), unit="DeltaE"),
                          values=np.ones(11))
    measured = Spectrum(x=Axis(values=np.linspace(20, 30, 11), unit="DeltaE"),
                        values=np.ones(11))
    comparison = compare_with_experiment(*spectrum_1d(prediction), measured)
    assert comparison["scale_factor"] is None and comparison["points_compared"] == 0
    assert "fewer than two" in comparison["note"]


@pytest.mark.parametrize("size", [1e-310, 1e-200, 1e200, 1e305])
def test_intensities_of_any_size_give_the_scale_of_unit_ones(size):
    """The scale factor is linear in the measured intensities and the relative error does not
    depend on their size: measured values of 1e-310 (subnormal: their squares were 0, a
    ZeroDivisionError) and 1e305 (squares overflowed) give size x the scale and the relative
    error of the same measurement at unit size (the reference); the absolute error is inf
    only where it is beyond floating point."""
    energy = np.linspace(0.0, 50.0, 101)
    predicted = np.exp(-(energy - 25.0) ** 2 / 20.0) + 0.1
    grid = np.linspace(2.0, 48.0, 40)
    shape = 2.5 * np.interp(grid, energy, predicted) * (1 + 0.02 * np.sin(grid))
    unit = compare_with_experiment(energy, predicted, Spectrum(
        x=Axis(values=grid, unit="DeltaE"), values=shape, distribution=True))
    sized = compare_with_experiment(energy, predicted, Spectrum(
        x=Axis(values=grid, unit="DeltaE"), values=shape * size, distribution=True))
    assert sized["scale_factor"] == pytest.approx(unit["scale_factor"] * size, rel=1e-9)
    assert sized["relative_mean_squared_error"] == pytest.approx(
        unit["relative_mean_squared_error"], rel=1e-6)
    expected = unit["mean_squared_error"] * size * size
    if np.isfinite(expected) and expected > 0:
        assert sized["mean_squared_error"] == pytest.approx(expected, rel=1e-6)
