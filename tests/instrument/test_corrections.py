"""Corrections: quantum-correction limits and detailed balance (also against abinslib's Bose
factor), Debye-Waller in both directions with U from an MD summary.json, 1/|Q|^2 and w^2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import constants

from mantid_mdinsim.errors import InputFileError, ParameterError
from mantid_mdinsim.instrument import apply_instrument
from mantid_mdinsim.instrument.corrections import (detailed_balance_factor,
                                                   quantum_correction_factor,
                                                   read_mean_squared_displacement)

from .conftest import make_sqw


def beta_hbar_omega(energy_mev, temperature_k):
    """beta * hbar * w from CODATA (scipy), independent of mantid_mdinsim.units."""
    return np.asarray(energy_mev) * 1e-3 * constants.e / (constants.k * temperature_k)


def test_quantum_correction_limits():
    for temperature in (10.0, 300.0):
        assert quantum_correction_factor(0.0, temperature) == 1.0
        assert quantum_correction_factor(1e-9, temperature) == pytest.approx(1.0, abs=1e-8)
        # For beta hbar w >> 1 the factor approaches beta hbar w.
        energy = 200.0 * constants.k * temperature / (1e-3 * constants.e)   # beta hbar w = 200
        assert quantum_correction_factor(energy, temperature) == pytest.approx(
            beta_hbar_omega(energy, temperature), rel=1e-12)
    # Small beta hbar w: 1 + x/2 + x^2/12 (series of x / (1 - exp(-x))).
    x = beta_hbar_omega(0.01, 300.0)
    assert quantum_correction_factor(0.01, 300.0) == pytest.approx(1 + x / 2 + x * x / 12,
                                                                   rel=1e-9)


def test_quantum_correction_is_beta_hbar_omega_times_bose_n_plus_one():
    bose = pytest.importorskip("abinslib.bose")
    from euphonic import ureg

    BoseOccupation, calculate_bose_factor = bose.BoseOccupation, bose.calculate_bose_factor

    energies = np.array([0.5, 5.0, 25.0, 100.0, 400.0])
    for temperature in (5.0, 127.0, 1500.0):
        n_plus_one = calculate_bose_factor(energies * ureg("meV"), temperature * ureg("K"),
                                           BoseOccupation.N_PLUS_ONE)
        np.testing.assert_allclose(quantum_correction_factor(energies, temperature),
                                   beta_hbar_omega(energies, temperature) * n_plus_one,
                                   rtol=1e-6)


def test_quantum_correction_obeys_detailed_balance():
    energies = np.linspace(0.1, 300, 50)
    for temperature in (10.0, 300.0):
        ratio = quantum_correction_factor(-energies, temperature) / quantum_correction_factor(
            energies, temperature)
        np.testing.assert_allclose(ratio, np.exp(-beta_hbar_omega(energies, temperature)),
                                   rtol=1e-9)
        np.testing.assert_allclose(detailed_balance_factor(-energies, temperature),
                                   np.exp(-beta_hbar_omega(energies, temperature)), rtol=1e-12)
    assert quantum_correction_factor(-1e4, 1.0) == 0.0     # far energy gain: no overflow, 0


@pytest.mark.parametrize("quantum_correction", [True, False])
def test_energy_gain_built_by_detailed_balance(quantum_correction):
    """One-sided input, output down to -40 meV: S(-w) = exp(-beta hbar w) S(w)."""
    temperature = 150.0
    sqw = make_sqw(np.linspace(0, 12, 25), np.linspace(0, 80, 81),
                   lambda q, w: np.exp(-w / 30.0) * (1 + 0 * q))
    result = apply_instrument(sqw, instrument="ARCS", incident_energy_mev=100.0,
                              energy_min_mev=-40.0, resolution="none",
                              temperature_k=temperature, quantum_correction=quantum_correction)
    spectrum = result.spectrum
    edges = spectrum.x.values
    centres = 0.5 * (edges[1:] + edges[:-1])
    assert edges[0] == pytest.approx(-40.0)
    row = np.flatnonzero(np.all(np.isfinite(spectrum.values), axis=1))[0]
    values = spectrum.values[row]
    for w in (0.5, 10.5, 25.5, 39.5):
        gain = values[np.argmin(abs(centres + w))]
        loss = values[np.argmin(abs(centres - w))]
        assert gain / loss == pytest.approx(np.exp(-beta_hbar_omega(w, temperature)), rel=1e-9)
    assert spectrum.logs["energy_gain_from_detailed_balance"] == 1
    assert spectrum.logs["quantum_correction_applied"] == int(quantum_correction)


def test_energy_gain_needs_detailed_balance_and_stays_within_the_input():
    sqw = make_sqw(np.linspace(0, 12, 25), np.linspace(0, 80, 81))
    with pytest.raises(ParameterError, match="detailed balance is off"):
        apply_instrument(sqw, instrument="ARCS", incident_energy_mev=100.0, energy_min_mev=-40.0,
                         temperature_k=100.0, detailed_balance=False)
    with pytest.raises(ParameterError, match="only down to -80"):
        apply_instrument(sqw, instrument="ARCS", incident_energy_mev=100.0, energy_min_mev=-90.0,
                         temperature_k=100.0)


@pytest.mark.parametrize("direction,sign", [("remove", +1.0), ("apply", -1.0)])
def test_debye_waller_direction(direction, sign, tmp_path):
    msd = 0.013  # Angstrom^2, the paper's U for Si at 300 K
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"mean_squared_displacement_angstrom2": msd, "other": 1}))
    sqw = make_sqw(np.linspace(0, 12, 25), np.linspace(0, 60, 61),
                   lambda q, w: 1.0 + 0.1 * w + 0 * q)
    common = dict(instrument="ARCS", incident_energy_mev=100.0, resolution="none",
                  quantum_correction=False)
    plain = apply_instrument(sqw, **common).spectrum
    for source in ({"mean_squared_displacement_angstrom2": msd},
                   {"md_summary_file": str(summary)}):
        corrected = apply_instrument(sqw, debye_waller=direction, **common, **source).spectrum
        q = 0.5 * (corrected.vertical.values[1:] + corrected.vertical.values[:-1])
        expected = np.exp(sign * q ** 2 * msd / 3.0)[:, None] * plain.values
        np.testing.assert_allclose(corrected.values, expected, rtol=1e-12)
        assert corrected.logs["debye_waller_applied"] == direction
        assert corrected.logs["debye_waller_msd_angstrom2_used"] == msd


def test_inverse_q_squared_and_omega_squared():
    sqw = make_sqw(np.linspace(0, 12, 25), np.linspace(0, 60, 61),
                   lambda q, w: 1.0 + 0.1 * w + 0 * q)
    common = dict(instrument="ARCS", incident_energy_mev=100.0, resolution="none",
                  quantum_correction=False)
    plain = apply_instrument(sqw, **common).spectrum
    weighted = apply_instrument(sqw, inverse_q_squared=True, omega_squared=True, **common).spectrum
    q = 0.5 * (plain.vertical.values[1:] + plain.vertical.values[:-1])
    w = 0.5 * (plain.x.values[1:] + plain.x.values[:-1])
    np.testing.assert_allclose(weighted.values, plain.values * w[None, :] ** 2 / q[:, None] ** 2,
                               rtol=1e-12)
    assert weighted.logs["inverse_q_squared_applied"] == 1
    assert weighted.logs["omega_squared_applied"] == 1
    assert plain.logs["inverse_q_squared_applied"] == 0


def test_debye_waller_needs_one_source_of_u(tmp_path):
    sqw = make_sqw(np.linspace(0, 12, 25), np.linspace(0, 60, 61))
    common = dict(instrument="TOSCA", quantum_correction=False, debye_waller="remove")
    with pytest.raises(ParameterError, match="needs U"):
        apply_instrument(sqw, **common)
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"mean_squared_displacement_angstrom2": 0.01}))
    with pytest.raises(ParameterError, match="not both"):
        apply_instrument(sqw, mean_squared_displacement_angstrom2=0.01,
                         md_summary_file=str(summary), **common)


def test_summary_without_msd_names_file_and_key(tmp_path):
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"temperature_k": 300}))
    with pytest.raises(InputFileError) as error:
        read_mean_squared_displacement(summary)
    assert "summary.json" in str(error.value)
    assert "mean_squared_displacement_angstrom2" in str(error.value)
    summary.write_text(json.dumps({"mean_squared_displacement_angstrom2": -1}))
    with pytest.raises(InputFileError, match=">= 0"):
        read_mean_squared_displacement(summary)
    with pytest.raises(InputFileError, match="not found"):
        read_mean_squared_displacement(tmp_path / "missing.json")
