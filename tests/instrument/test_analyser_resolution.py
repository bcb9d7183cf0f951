"""VISION's resolution (this project's crystal-analyser model): widths against VISION's
published resolution, and the error propagation against a Monte Carlo of the flight times."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import constants

from mantid_mdinsim.errors import ParameterError
from mantid_mdinsim.instrument import apply_instrument, get_instrument

from .conftest import k_inv_angstrom
from .test_resolution import _line, _moments

FWHM_PER_SIGMA = np.sqrt(8 * np.log(2))


def _vision_model():
    vision = get_instrument("VISION")
    return vision.resolution(vision.configure())


# Published: "dE/E about 1.2 %" (ORNL VISION page), "1-2 % dE/E" (design, Larese et al.).
# The model's one free number (pulse width per Angstrom) is set at 100 meV only.
@pytest.mark.parametrize("omega_mev", [20.0, 50.0, 200.0, 400.0])
def test_vision_width_matches_the_published_relative_resolution(omega_mev):
    relative = float(_vision_model().fwhm_mev([omega_mev])[0]) / omega_mev
    assert 0.010 <= relative <= 0.015


@pytest.mark.parametrize("omega0", [30.0, 300.0])
def test_vision_resolution_is_used_by_default_and_broadens_a_line(omega0):
    expected = float(_vision_model().sigma_mev([omega0])[0])
    sqw, centre = _line(omega0, expected, np.linspace(0, 25, 26))
    result = apply_instrument(sqw, instrument="VISION", quantum_correction=False)
    area, mean, sigma = _moments(result.spectrum.x.values, result.spectrum.values[0])
    assert sigma == pytest.approx(float(_vision_model().sigma_mev([centre])[0]), rel=0.02)
    assert area == pytest.approx(1.0, rel=1e-3)


def test_vision_resins_model_still_fails_with_the_fix():
    with pytest.raises(ParameterError, match="use resolution 'none'"):
        get_instrument("VISION").resolution(get_instrument("VISION").configure(), "vision")


@pytest.mark.parametrize("omega_mev", [10.0, 150.0, 500.0])
def test_error_propagation_agrees_with_a_monte_carlo_of_flight_times(omega_mev):
    """Sample each uncertain quantity, time the neutron, reconstruct w with nominal values."""
    data = get_instrument("VISION").own_resolution_models["mdinsim"]
    final_mev = 3.5
    rng = np.random.default_rng(1)
    n = 400_000
    gauss = lambda fwhm: rng.normal(0.0, fwhm / FWHM_PER_SIGMA, n)  # noqa: E731

    def speed(energy_mev):
        return constants.hbar * k_inv_angstrom(energy_mev) * 1e10 / constants.m_n

    l1, l2 = data.primary_flight_path_m, data.secondary_flight_path_m
    theta = np.radians(data.bragg_angle_deg)
    # Bragg's law at a slightly different angle: Ef proportional to 1/sin^2(theta).
    true_final = final_mev * (np.sin(theta) / np.sin(theta + np.radians(
        gauss(data.analyser_angle_fwhm_deg)))) ** 2
    incident = omega_mev + true_final
    wavelength = 2 * np.pi / k_inv_angstrom(omega_mev + final_mev)
    pulse_s = gauss(np.hypot(data.pulse_width_us_per_angstrom * wavelength,
                             data.time_channel_fwhm_us)) * 1e-6
    time = ((l1 + gauss(data.primary_flight_path_fwhm_m)) / speed(incident)
            + (l2 + gauss(data.secondary_flight_path_fwhm_m)) / speed(true_final) + pulse_s)
    speed_rec = l1 / (time - l2 / speed(final_mev))
    incident_rec = 0.5 * constants.m_n * speed_rec ** 2 / constants.e * 1e3
    error = (incident_rec - final_mev) - (incident - true_final)
    lo, hi = np.percentile(error, [15.865, 84.135])      # robust sigma of a Gaussian
    model_fwhm = float(data.fwhm_mev(np.array([omega_mev]), final_mev)[0])
    assert (hi - lo) / 2 * FWHM_PER_SIGMA == pytest.approx(model_fwhm, rel=0.03)
