"""Kinematic constraints against the closed form from k_i, k_f and the scattering angle, and the
TOSCA line against AbINS' formula (abinslib)."""

from __future__ import annotations

import numpy as np
import pytest

from mantid_mdinsim.instrument import apply_instrument, get_instrument
from mantid_mdinsim.instrument.kinematics import (direct_q_limits, indirect_q_line,
                                                  sample_along_line)

from .conftest import closed_form_q, make_sqw


@pytest.mark.parametrize("ei", [25.0, 100.0, 600.0])
def test_direct_q_limits_match_cosine_rule(ei):
    energies = np.array([-0.5, 0.0, 0.2, 0.5, 0.9]) * ei
    q_min, q_max = direct_q_limits(energies, ei, (2.373, 135.955))
    np.testing.assert_allclose(q_min, closed_form_q(ei, ei - energies, 2.373), rtol=1e-9)
    np.testing.assert_allclose(q_max, closed_form_q(ei, ei - energies, 135.955), rtol=1e-9)
    assert np.all(np.isnan(direct_q_limits(np.array([ei, 1.5 * ei]), ei, (3, 60))[0]))


def _mask(instrument, q_edges, e_edges, ei, **extra):
    sqw = make_sqw(q_edges, e_edges)
    result = apply_instrument(sqw, instrument=instrument, incident_energy_mev=ei,
                              resolution="none", quantum_correction=False, **extra)
    return np.isfinite(result.spectrum.values), result.spectrum


@pytest.mark.parametrize("ei", [50.0, 200.0])
def test_arcs_accessible_region_is_the_closed_form_band(ei):
    q_edges = np.linspace(0, 25, 501)
    e_edges = np.linspace(-ei / 2, ei, 41)
    accessible, spectrum = _mask("ARCS", q_edges, e_edges, ei)
    centres = 0.5 * (e_edges[1:] + e_edges[:-1])
    for j, w in enumerate(centres):
        q_low = closed_form_q(ei, ei - w, 2.373)
        q_high = closed_form_q(ei, ei - w, 135.955)
        # A |Q| bin is measured when it overlaps [Q(2theta_min), Q(2theta_max)] at its energy.
        expected = (q_edges[1:] >= q_low) & (q_edges[:-1] <= q_high)
        np.testing.assert_array_equal(accessible[:, j], expected, err_msg=f"w = {w} meV")
    assert spectrum.x.values[-1] <= ei


def test_maps_bank_gaps_are_masked():
    ei, w = 400.0, 100.0
    q_edges = np.linspace(0, 20, 4001)          # 0.005 1/Angstrom bins
    e_edges = np.array([w - 1.0, w + 1.0, w + 3.0])
    accessible, _ = _mask("MAPS", q_edges, e_edges, ei)
    q_centres = 0.5 * (q_edges[1:] + q_edges[:-1])
    for two_theta, measured in [(10.0, True), (20.45, False), (25.0, True), (30.45, False),
                                (55.0, True), (65.0, False), (2.0, False)]:
        q = closed_form_q(ei, ei - w, two_theta)
        index = np.searchsorted(q_edges, q) - 1
        assert accessible[index, 0] == measured, (two_theta, q, q_centres[index])


def test_nothing_is_measured_beyond_ei():
    with pytest.raises(Exception, match="beyond the incident energy"):
        _mask("MARI", np.linspace(0, 10, 11), np.linspace(0, 120, 13), 100.0,
              energy_max_mev=110.0)
    accessible, spectrum = _mask("MARI", np.linspace(0, 10, 11), np.linspace(0, 120, 13), 100.0)
    assert spectrum.x.values[-1] == pytest.approx(100.0)


@pytest.mark.parametrize("name", ["TOSCA", "VISION", "IN1-LAGRANGE"])
def test_indirect_lines_match_cosine_rule(name):
    energies = np.array([5.0, 20.0, 100.0, 250.0, 450.0])
    for bank in get_instrument(name).banks.values():
        expected = closed_form_q(energies + bank.final_energy_mev, bank.final_energy_mev,
                                 bank.two_theta_deg)
        np.testing.assert_allclose(bank.q_line(energies), expected, rtol=1e-9)
    assert np.isnan(indirect_q_line(np.array([-5.0]), 3.5, 45.0))[0]


def test_tosca_lines_match_abins_formula():
    calculate_indirect_q2 = pytest.importorskip("abinslib.util").calculate_indirect_q2
    from euphonic import ureg

    tosca = get_instrument("TOSCA")
    # Mantid AbINS (scripts/abins/parameters.py) places TOSCA's banks at these angles.
    assert tosca.banks["Forward"].two_theta_deg == 45.0
    assert tosca.banks["Backward"].two_theta_deg == 134.98885653282196
    energies = np.linspace(1, 500, 12)
    for bank in tosca.banks.values():
        q2 = calculate_indirect_q2(energies * ureg("meV"), np.radians(bank.two_theta_deg),
                                   bank.final_energy_mev * ureg("meV"))
        np.testing.assert_allclose(bank.q_line(energies) ** 2,
                                   q2.to("1/angstrom**2").magnitude, rtol=1e-6)


def test_tosca_samples_s_along_its_lines():
    """S linear in |Q|: the bank spectra are exactly a + b |Q|(w) before resolution."""
    sqw = make_sqw(np.linspace(0, 30, 301), np.linspace(0, 400, 401),
                   lambda q, w: 2.0 + 0.5 * q + 0 * w)
    result = apply_instrument(sqw, instrument="TOSCA", resolution="none",
                              quantum_correction=False)
    energy_edges = result.spectrum.x.values
    centres = 0.5 * (energy_edges[1:] + energy_edges[:-1])
    widths = np.diff(energy_edges)
    lines = {}
    for name, bank in get_instrument("TOSCA").banks.items():
        q = closed_form_q(centres + bank.final_energy_mev, bank.final_energy_mev,
                          bank.two_theta_deg)
        lines[name] = (2.0 + 0.5 * q) * widths      # AbINS layout: intensity per bin
        np.testing.assert_allclose(result.banks[name].values[0], lines[name], rtol=1e-9)
    # TOSCA's spectrum is the average of its two banks.
    np.testing.assert_allclose(result.spectrum.values[0],
                               0.5 * (lines["Forward"] + lines["Backward"]), rtol=1e-9)


def test_line_outside_the_input_q_range_is_nan():
    values = np.ones((3, 4))
    sampled, _ = sample_along_line(values, np.array([1.0, 2.0, 3.0]),
                                   np.array([0.5, 1.5, 3.0, np.nan]))
    assert np.isnan(sampled[0]) and sampled[1] == 1.0 and sampled[2] == 1.0
    assert np.isnan(sampled[3])
