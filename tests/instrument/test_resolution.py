"""Resolution broadening: line widths against resins' own widths, conservation of intensity, and
the vectorised convolution against euphonic's Spectrum2D.broaden."""

from __future__ import annotations

import numpy as np
import pytest
from resins import Instrument as ResinsInstrument

from mantid_mdinsim.instrument import apply_instrument
from mantid_mdinsim.instrument.resolution import broaden_energy_axis

from .conftest import make_sqw

FINE_BIN_MEV = 0.02


def _resins_sigma(name, model, energy, **settings):
    function = ResinsInstrument.from_default(name).get_resolution_function(model, **settings)
    return float(function.get_characteristics(np.array([[energy]]))["sigma"][0])


def _line(omega0, sigma_guess, q_edges):
    """A unit-area line in one fine energy bin at omega0, the same at every |Q|."""
    half = 12 * sigma_guess
    edges = np.arange(omega0 - half, omega0 + half + FINE_BIN_MEV / 2, FINE_BIN_MEV)
    edges = edges - (edges[np.argmin(abs(edges - omega0))] - omega0) - FINE_BIN_MEV / 2
    centres = 0.5 * (edges[1:] + edges[:-1])
    peak = np.argmin(abs(centres - omega0))
    return make_sqw(q_edges, edges, lambda q, w: (np.arange(w.size) == peak)[None, :]
                    / FINE_BIN_MEV + 0 * q), centres[peak]


def _moments(energy_edges, per_bin):
    centres = 0.5 * (energy_edges[1:] + energy_edges[:-1])
    mean = np.sum(per_bin * centres) / np.sum(per_bin)
    return np.sum(per_bin), mean, np.sqrt(np.sum(per_bin * (centres - mean) ** 2) / np.sum(per_bin))


@pytest.mark.parametrize("omega0", [20.0, 100.0, 300.0])
def test_tosca_line_width_is_resins_width(omega0):
    expected = _resins_sigma("TOSCA", "AbINS", omega0)
    sqw, centre = _line(omega0, expected, np.linspace(0, 25, 26))
    result = apply_instrument(sqw, instrument="TOSCA", quantum_correction=False)
    spectrum = result.spectrum
    area, mean, sigma = _moments(spectrum.x.values, spectrum.values[0])
    assert sigma == pytest.approx(_resins_sigma("TOSCA", "AbINS", centre), rel=0.02)
    assert mean == pytest.approx(centre, abs=0.01 * expected)
    assert area == pytest.approx(1.0, rel=1e-3)      # integrated intensity conserved


@pytest.mark.parametrize("omega0", [100.0, 300.0])
def test_lagrange_line_width_is_resins_width(omega0):
    expected = _resins_sigma("Lagrange", "AbINS", omega0, monochromator="Cu(331)")
    sqw, centre = _line(omega0, expected, np.linspace(0, 25, 26))
    result = apply_instrument(sqw, instrument="IN1-LAGRANGE", setting="Cu(331)",
                              quantum_correction=False)
    area, _, sigma = _moments(result.spectrum.x.values, result.spectrum.values[0])
    assert sigma == pytest.approx(_resins_sigma("Lagrange", "AbINS", centre,
                                                monochromator="Cu(331)"), rel=0.02)
    assert area == pytest.approx(1.0, rel=1e-3)


@pytest.mark.parametrize("name,settings,omega0", [
    ("ARCS", {"chopper_package": "ARCS-100-1.5-AST", "e_init": 100.0, "chopper_frequency": 300},
     10.0),
    ("ARCS", {"chopper_package": "ARCS-100-1.5-AST", "e_init": 100.0, "chopper_frequency": 300},
     70.0),
    ("MAPS", {"chopper_package": "S", "e_init": 500.0, "chopper_frequency": 250}, 200.0),
    ("MAPS", {"chopper_package": "S", "e_init": 500.0, "chopper_frequency": 250}, 300.0),
])
def test_direct_line_width_is_resins_width(name, settings, omega0):
    expected = _resins_sigma(name, "PyChop_fit", omega0, **settings)
    q_edges = np.linspace(0, 30, 61)
    sqw, centre = _line(omega0, expected, q_edges)
    result = apply_instrument(sqw, instrument=name, setting=settings["chopper_package"],
                              incident_energy_mev=settings["e_init"],
                              chopper_frequency_hz=settings["chopper_frequency"],
                              quantum_correction=False)
    values = result.spectrum.values
    row = np.flatnonzero(np.all(np.isfinite(values), axis=1))[0]   # a |Q| measured throughout
    area, mean, sigma = _moments(result.spectrum.x.values, values[row] * FINE_BIN_MEV)
    assert sigma == pytest.approx(_resins_sigma(name, "PyChop_fit", centre, **settings), rel=0.02)
    assert area == pytest.approx(1.0, rel=1e-3)
    table = result.resolution
    index = np.argmin(abs(table.columns["energy_transfer_mev"] - centre))
    assert table.columns["sigma_mev"][index] == pytest.approx(
        _resins_sigma(name, "PyChop_fit", table.columns["energy_transfer_mev"][index], **settings),
        rel=1e-9)


def test_broadening_conserves_intensity_of_a_broad_spectrum():
    rng = np.random.default_rng(3)
    edges = np.linspace(0, 400, 801)
    values = np.zeros((4, 800))
    values[:, 200:600] = rng.random((4, 400))
    sigma = 0.5 + 0.01 * 0.5 * (edges[1:] + edges[:-1])
    broadened = broaden_energy_axis(values, edges, sigma)
    np.testing.assert_allclose(broadened.sum(axis=1), values.sum(axis=1), rtol=1e-4)


def test_vectorised_broadening_equals_euphonic_spectrum2d():
    from euphonic import ureg
    from euphonic.spectra import Spectrum2D

    rng = np.random.default_rng(7)
    edges = np.linspace(-20, 280, 301)
    values = rng.random((12, 300))
    model = ResinsInstrument.from_default("MAPS").get_resolution_function(
        "PyChop_fit", chopper_package="A", e_init=300.0, chopper_frequency=400)

    def width(energy):
        magnitude = energy.to("meV").magnitude
        return model.get_characteristics(magnitude.reshape(-1, 1))["sigma"].reshape(
            magnitude.shape) * ureg("meV")

    reference = Spectrum2D(np.arange(13) * ureg("1/angstrom"), edges * ureg("meV"),
                           values * ureg("dimensionless")).broaden(y_width=width,
                                                                    width_convention="std")
    centres = 0.5 * (edges[1:] + edges[:-1])
    ours = broaden_energy_axis(values, edges, width(centres * ureg("meV")).magnitude)
    np.testing.assert_allclose(ours, reference.z_data.magnitude, rtol=1e-9, atol=1e-12)
