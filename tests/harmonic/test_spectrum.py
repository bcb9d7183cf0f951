"""The harmonic incoherent spectrum against analytic oscillators and against abinslib itself."""

from __future__ import annotations

import contextlib
import io
import math
import sys

import numpy as np
import pytest
from scipy import constants
from scipy.ndimage import gaussian_filter1d

pytest.importorskip("abinslib", reason="the harmonic comparison needs the 'harmonic' extra")

from mantid_mdinsim.errors import ParameterError  # noqa: E402
from mantid_mdinsim.harmonic import (  # noqa: E402
    MissingHarmonicDependency, apply_instrument_harmonic, harmonic_spectrum_1d, harmonic_sqw)
from mantid_mdinsim.harmonic.spectrum import normalised_modes  # noqa: E402
from mantid_mdinsim.instrument.kinematics import indirect_q_line  # noqa: E402

#: Incoherent cross section of natural H, barn (Sears, Neutron News 3, 26 (1992)).
SIGMA_INC_H_BARN = 80.26


def msd_angstrom2(energy_mev: float, mass_amu: float = 1.00794) -> float:
    """u^2 = hbar^2 / (2 m hbar w): the zero-point mean-square displacement along one mode."""
    energy_j = energy_mev * 1e-3 * constants.e
    return constants.hbar ** 2 / (2 * mass_amu * constants.atomic_mass * energy_j) * 1e20


def bose(energy_mev: float, temperature_k: float) -> float:
    if temperature_k == 0:
        return 0.0
    return 1.0 / math.expm1(energy_mev * 1e-3 * constants.e / (constants.k * temperature_k))


def peak_area(values: np.ndarray, bins: np.ndarray, energy_mev: float, half_width: float = 2.0):
    """Integral of a density (per meV) over bins within half_width of energy_mev (one value
    per row)."""
    centres = 0.5 * (bins[1:] + bins[:-1])
    near = np.abs(centres - energy_mev) < half_width
    return np.sum(values[..., near] * np.diff(bins)[near], axis=-1)


# -- analytic oscillators --------------------------------------------------------------------
@pytest.mark.parametrize("method", ["almost_isotropic", "isotropic"])
@pytest.mark.parametrize("temperature_k", [0.0, 300.0])
def test_einstein_oscillator_orders_have_the_analytic_positions_and_intensities(
        einstein_modes, method, temperature_k):
    """An isotropic Einstein site (hbar w = 60.3 meV): order n sits at n hbar w with
    sigma exp(-Q^2 u^2 (2n+1)) (Q^2 u^2 (n+1))^n / n! (phonon creation only), at every |Q|."""
    energy = 60.3
    modes = einstein_modes([energy] * 3)
    bins = np.arange(0.0, 330.0, 0.1)
    q_bins = np.array([1.9, 2.1, 4.9, 5.1, 7.9, 8.1])     # rows at 2, 3.5, 5, 6.5, 8 1/A
    spectra = harmonic_sqw(modes, temperature_k=temperature_k, q_bins_inv_angstrom=q_bins,
                           energy_bins_mev=bins, max_order=4, method=method,
                           normalisation="abins")
    u2 = msd_angstrom2(energy)
    n_bar = bose(energy, temperature_k)
    q2 = (0.5 * (q_bins[1:] + q_bins[:-1])) ** 2
    widths = np.diff(bins)
    for order in range(1, 5):
        density = spectra.orders[order].values / widths          # 'abins': per bin -> per meV
        expected = (SIGMA_INC_H_BARN * np.exp(-q2 * u2 * (2 * n_bar + 1))
                    * (q2 * u2 * (n_bar + 1)) ** order / math.factorial(order))
        np.testing.assert_allclose(peak_area(density, bins, order * energy), expected,
                                   rtol=1e-9)
        # The order's intensity is all there, centred on n hbar w (to the 0.1 meV bins).
        centres = 0.5 * (bins[1:] + bins[:-1])
        np.testing.assert_allclose(density.sum(axis=1) * 0.1, expected, rtol=1e-9)
        np.testing.assert_allclose((density * centres).sum(axis=1) / density.sum(axis=1),
                                   order * energy, atol=0.05)
    np.testing.assert_allclose(spectra.total.values, sum(s.values for s in
                                                          spectra.orders.values()))


def test_anisotropic_site_second_order_is_the_exact_powder_average(einstein_modes):
    """Three modes of one H atom along x, y, z (50, 85, 140 meV), T = 0. The powder average of
    the second term of exp(Q.U.Q) gives <Qx^4> = Q^4/5 and <Qx^2 Qy^2> = Q^4/15: overtones
    u_i^4/10, combinations u_i^2 u_j^2/15 (times Q^4 and the isotropic Debye-Waller factor).
    The fully isotropic method gives (u_i^2/3)^2/2 and u_i^2 u_j^2/9 instead. The fundamentals
    follow abinslib's almost-isotropic formula Q^2 u_i^2/3 exp(-Q^2 (sum u^2 + 2 u_i^2)/5)."""
    energies = np.array([50.0, 85.0, 140.0])
    u2 = np.array([msd_angstrom2(e) for e in energies])
    q = 3.0
    bins = np.arange(0.0, 300.0, 0.5)
    results = {method: harmonic_spectrum_1d(einstein_modes(energies), temperature_k=0.0,
                                            energy_bins_mev=bins, q_lines=[q], max_order=2,
                                            method=method, normalisation="abins")
               for method in ("almost_isotropic", "isotropic")}
    widths = np.diff(bins)
    debye_waller = np.exp(-2 * q ** 2 * (u2.sum() / 2) / 3)
    scale = SIGMA_INC_H_BARN * q ** 4 * debye_waller
    exact = results["almost_isotropic"].orders[2].values[0] / widths / scale
    isotropic = results["isotropic"].orders[2].values[0] / widths / scale
    for i in range(3):
        assert peak_area(exact, bins, 2 * energies[i]) == pytest.approx(u2[i] ** 2 / 10,
                                                                         rel=1e-9)
        assert peak_area(isotropic, bins, 2 * energies[i]) == pytest.approx(
            (u2[i] / 3) ** 2 / 2, rel=1e-9)
        for j in range(i + 1, 3):
            combination = energies[i] + energies[j]
            assert peak_area(exact, bins, combination) == pytest.approx(u2[i] * u2[j] / 15,
                                                                        rel=1e-9)
            assert peak_area(isotropic, bins, combination) == pytest.approx(
                u2[i] * u2[j] / 9, rel=1e-9)
    fundamentals = results["almost_isotropic"].orders[1].values[0] / widths
    for i in range(3):
        expected = (SIGMA_INC_H_BARN * q ** 2 * u2[i] / 3
                    * np.exp(-q ** 2 * (u2.sum() + 2 * u2[i]) / 5))
        assert peak_area(fundamentals, bins, energies[i]) == pytest.approx(expected, rel=1e-9)


def test_abinslib_second_order_weights_differ_from_the_expansion(einstein_modes):
    """Why the default second order is computed here: for the isotropic Einstein site abinslib
    0.3's full combination spectrum gives 7/5 of (Q^2 u^2)^2/2 (off-diagonal pairs counted
    twice) and its Mantid-like one 7/10 (overtones halved, as Mantid's Abins). method='abins'
    reproduces the latter on purpose. If abinslib changes these weights, this test says so."""
    from abinslib.almost_isotropic_incoherent import (
        calculate_almost_isotropic_incoherent_combination_spectra)
    from abinslib.displacements import Displacements
    from euphonic import Quantity

    energy, q2 = 100.0, 4.0
    modes = einstein_modes([energy] * 3)
    bins = np.arange(0.0, 401.0, 1.0)
    displacements = Displacements.from_modes(modes, Quantity(0.0, "K"))
    atomic = displacements.to_atomic_displacements()
    full = calculate_almost_isotropic_incoherent_combination_spectra(
        modes, displacements, atomic, Quantity(np.full((1, 3, 1, 3), q2), "angstrom**-2"),
        Quantity(bins, "meV"))
    u2 = msd_angstrom2(energy)
    exact = np.exp(-q2 * u2) * (q2 * u2) ** 2 / 2
    assert full.y_data.magnitude.sum() * 1.0 == pytest.approx(1.4 * exact, rel=1e-9)
    abins = harmonic_spectrum_1d(modes, temperature_k=0.0, energy_bins_mev=bins,
                                 q_lines=[2.0], max_order=2, method="abins",
                                 normalisation="abins")
    ours = harmonic_spectrum_1d(modes, temperature_k=0.0, energy_bins_mev=bins, q_lines=[2.0],
                                max_order=2, normalisation="abins")
    assert abins.orders[2].values.sum() / SIGMA_INC_H_BARN == pytest.approx(0.7 * exact,
                                                                            rel=1e-9)
    assert ours.orders[2].values.sum() / SIGMA_INC_H_BARN == pytest.approx(exact, rel=1e-9)


def test_per_atom_units_obey_the_sum_rule(einstein_modes):
    """In 'per_atom' units (those of the MD S(Q,w)) all orders plus the elastic line
    exp(-Q^2 u^2) integrate to sigma_inc/(4 pi) in fm^2, as F_s(Q, t=0) = 1 gives for MD."""
    energy, q = 100.0, 5.0
    bins = np.arange(0.0, 1101.0, 1.0) + 0.5
    spectra = harmonic_spectrum_1d(einstein_modes([energy] * 3), temperature_k=0.0,
                                   energy_bins_mev=bins, q_lines=[q], max_order=10)
    inelastic = float(np.sum(spectra.total.values[0] * np.diff(bins)))
    elastic = math.exp(-q ** 2 * msd_angstrom2(energy))
    sigma_fm2 = SIGMA_INC_H_BARN * 100.0 / (4 * np.pi)
    assert inelastic / sigma_fm2 + elastic == pytest.approx(1.0, rel=1e-7)
    assert spectra.total.y_unit_label == "S(Q,E) (fm^2/meV per atom)"
    assert spectra.total.distribution


# -- abinslib run directly on the same phonons -----------------------------------------------
def _abinslib_inputs(modes, temperature_k):
    from abinslib.displacements import Displacements
    from euphonic import Quantity

    displacements = Displacements.from_modes(modes, Quantity(temperature_k, "K"))
    return displacements, displacements.to_atomic_displacements()


def _weighted_total(spectra, modes) -> np.ndarray:
    from abinslib.util import apply_weights

    with contextlib.redirect_stdout(io.StringIO()):
        weighted = apply_weights(spectra, key="incoherent_cross_section")
    return weighted.y_data.to("barn/meV").magnitude.sum(axis=0)


@pytest.fixture(scope="module", params=["NaH.phonon", "Si2-sc-skew-666-grid.phonon",
                                        "Si NEP 5x5x5 mesh"])
def same_phonons(request, castep_modes, si_nep_phonons):
    """The same phonon modes fed to this package and to abinslib: the two CASTEP files of the
    shared data, and the NEP phonons of Si on a q-mesh."""
    if request.param.startswith("Si NEP"):
        modes = si_nep_phonons.modes(mesh=(5, 5, 5))
    else:
        modes = castep_modes(request.param)
    return normalised_modes(modes)


def test_fundamentals_along_a_tosca_line_equal_abinslib(same_phonons):
    """Order 1 along AbINS' TOSCA backward line (E_f = 32 cm^-1, 2theta = 135 deg): this
    package (with mdinsim's kinematics) against abinslib's spectrum functions, |Q|^2 from
    abinslib's calculate_indirect_q2, and abinslib's apply_weights."""
    from abinslib.almost_isotropic_incoherent import calculate_almost_isotropic_incoherent_spectra
    from abinslib.isotropic_incoherent import calculate_isotropic_incoherent_spectra
    from abinslib.util import calculate_indirect_q2
    from euphonic import Quantity

    modes, temperature_k = same_phonons, 20.0
    final_energy = Quantity(32.0, "1/cm").to("meV", "spectroscopy")
    angle = np.deg2rad(135.0)
    bins = np.arange(0.0, 130.0, 0.25)
    displacements, atomic = _abinslib_inputs(modes, temperature_k)
    # Modes no neutron on the line can reach (the imaginary modes of the Si file) have NaN
    # |Q|^2, which abinslib's cumulative binning spreads over every bin: they count zero, as
    # in this package.
    with np.errstate(invalid="ignore"):
        nominal_q2 = np.nan_to_num(calculate_indirect_q2(modes.frequencies, angle,
                                                         final_energy))
    line = lambda w: indirect_q_line(w, final_energy.magnitude, 135.0)  # noqa: E731
    for method, function in [("almost_isotropic", calculate_almost_isotropic_incoherent_spectra),
                             ("isotropic", calculate_isotropic_incoherent_spectra)]:
        reference = _weighted_total(function(modes, displacements, atomic, nominal_q2,
                                             Quantity(bins, "meV")), modes)
        ours = harmonic_spectrum_1d(modes, temperature_k=temperature_k, energy_bins_mev=bins,
                                    q_lines=[line], max_order=1, method=method,
                                    normalisation="abins")
        np.testing.assert_allclose(ours.total.values[0] / np.diff(bins), reference,
                                   rtol=1e-6, atol=1e-12 * reference.max())


def test_abins_second_order_equals_abinslib_mantid_like(same_phonons):
    from abinslib.almost_isotropic_incoherent import mantid_like_combination_spectra
    from abinslib.util import calculate_indirect_q2
    from euphonic import Quantity

    modes, temperature_k = same_phonons, 20.0
    final_energy = Quantity(32.0, "1/cm").to("meV", "spectroscopy")
    bins = np.arange(0.0, 250.0, 0.5)
    centres = Quantity(0.5 * (bins[1:] + bins[:-1]), "meV")
    displacements, atomic = _abinslib_inputs(modes, temperature_k)
    reference = _weighted_total(mantid_like_combination_spectra(
        modes, displacements, atomic, calculate_indirect_q2(centres, np.deg2rad(135.0),
                                                            final_energy),
        Quantity(bins, "meV")), modes)
    ours = harmonic_spectrum_1d(modes, temperature_k=temperature_k, energy_bins_mev=bins,
                                q_lines=[lambda w: indirect_q_line(w, final_energy.magnitude,
                                                                   135.0)],
                                max_order=2, method="abins", normalisation="abins")
    np.testing.assert_allclose(ours.orders[2].values[0] / np.diff(bins), reference, rtol=1e-6,
                               atol=1e-9 * reference.max())


def test_second_order_equals_abinslib_pair_sum_with_exact_weights(same_phonons):
    """Order 2 (default method) against abinslib's every-pair combination intensities, with the
    weight 1/30 for every ordered pair (abinslib's 1/(15 C) times C/2), binned by abinslib:
    same integral, nothing moved by more than one bin (pairs are placed here on a grid of a
    quarter bin), same shape once both are smoothed by 2 meV."""
    from abinslib.almost_isotropic_incoherent import (
        _bin_combination_modes, calculate_almost_isotropic_incoherent_combinations)
    from euphonic import Quantity

    modes, temperature_k, q2 = same_phonons, 20.0, 9.0
    bins = np.arange(0.0, 250.0, 0.5)
    displacements, atomic = _abinslib_inputs(modes, temperature_k)
    shape = modes.frequencies.shape
    intensities = calculate_almost_isotropic_incoherent_combinations(
        displacements, atomic, Quantity(np.full((*shape, *shape), q2), "angstrom**-2"),
        include_dw=True)
    c = np.eye(shape[0] * shape[1]).reshape(*shape, *shape) + 1.0
    binned = _bin_combination_modes(modes, intensities * (c / 2.0)[..., np.newaxis],
                                    Quantity(bins, "meV")).magnitude
    from euphonic.isotopes import sears_1992

    with contextlib.redirect_stdout(io.StringIO()):
        sigma = sears_1992.get_array(modes.crystal, key="incoherent_cross_section").magnitude
    reference = (binned * sigma[:, np.newaxis]).sum(axis=0)
    ours = harmonic_spectrum_1d(modes, temperature_k=temperature_k, energy_bins_mev=bins,
                                q_lines=[math.sqrt(q2)], max_order=2,
                                normalisation="abins").orders[2].values[0] / np.diff(bins)
    assert ours.sum() == pytest.approx(reference.sum(), rel=1e-9)
    # Positions: no intensity is moved by more than one bin (the cumulative intensity up to
    # each bin lies between the reference's up to the bins before and after it).
    cumulative_ours = np.cumsum(ours)
    cumulative_reference = np.concatenate([[0.0], np.cumsum(reference), [reference.sum()]])
    tolerance = 1e-9 * reference.sum()
    assert np.all(cumulative_ours >= cumulative_reference[:-2] - tolerance)
    assert np.all(cumulative_ours <= cumulative_reference[2:] + tolerance)
    smooth_ours, smooth_reference = (gaussian_filter1d(y, 4.0) for y in (ours, reference))
    assert np.abs(smooth_ours - smooth_reference).max() < 0.03 * smooth_reference.max()


# -- the same instrument as the MD prediction -----------------------------------------------
def test_instrument_step_on_the_map_equals_the_spectrum_along_the_bank_lines(castep_modes):
    """The harmonic map through MDApplyInstrument's TOSCA (no resolution) matches the 1D
    spectrum computed directly on each bank's |Q|(w) line: the map carries the right |Q|
    dependence, and both routes see the same kinematics."""
    modes = castep_modes("NaH.phonon")
    bins = np.arange(0.0, 240.0, 0.5)
    spectra = harmonic_sqw(modes, temperature_k=10.0,
                           q_bins_inv_angstrom=np.arange(0.0, 14.0, 0.02),
                           energy_bins_mev=bins, max_order=2)
    result = apply_instrument_harmonic(spectra.total, 10.0, instrument="TOSCA",
                                       resolution="none")
    assert result.spectrum.logs["quantum_correction_applied"] == 0
    for bank in result.run.banks:
        direct = harmonic_spectrum_1d(modes, temperature_k=10.0, energy_bins_mev=bins,
                                      q_lines=[bank.q_line], max_order=2)
        expected = direct.total.values[0] * np.diff(bins)          # per bin, AbINS layout
        measured = result.banks[bank.name].values[0]
        assert np.abs(measured - expected).max() < 2e-3 * expected.max(), bank.name
    with pytest.raises(ParameterError, match="quantum statistics"):
        apply_instrument_harmonic(spectra.total, 10.0, instrument="TOSCA",
                                  quantum_correction=True)


# -- bad input -------------------------------------------------------------------------------
def test_bad_spectrum_inputs_name_the_problem(einstein_modes, monkeypatch):
    modes = einstein_modes([60.0] * 3)
    bins = np.arange(0.0, 100.0, 1.0)
    common = dict(temperature_k=10.0, energy_bins_mev=bins, q_lines=[2.0])
    with pytest.raises(ParameterError, match="method 'abins' computes orders 1 and 2 only"):
        harmonic_spectrum_1d(modes, max_order=3, method="abins", **common)
    with pytest.raises(ParameterError, match="'exact' is not a choice"):
        harmonic_spectrum_1d(modes, method="exact", **common)
    with pytest.raises(ParameterError, match="max_order.*it must be 1 to 10"):
        harmonic_spectrum_1d(modes, max_order=11, **common)
    with pytest.raises(ParameterError, match="energy bin edges must increase"):
        harmonic_spectrum_1d(modes, temperature_k=10.0, energy_bins_mev=bins[::-1],
                             q_lines=[2.0])
    with pytest.raises(ParameterError, match="-5 K is out of range"):
        harmonic_spectrum_1d(modes, temperature_k=-5.0, energy_bins_mev=bins, q_lines=[2.0])
    with pytest.raises(ParameterError, match="no \\|Q\\|\\(w\\) line given"):
        harmonic_spectrum_1d(modes, temperature_k=10.0, energy_bins_mev=bins, q_lines=[])
    with pytest.raises(ParameterError, match="one non-negative weight per line"):
        harmonic_spectrum_1d(modes, line_weights=[1.0, 2.0], **common)
    with pytest.raises(ParameterError, match="cross_section.*choose one of"):
        harmonic_spectrum_1d(modes, cross_section="absorption", **common)
    with pytest.raises(ParameterError, match="\\|Q\\| bin edges must increase from >= 0"):
        harmonic_sqw(modes, temperature_k=10.0, q_bins_inv_angstrom=[-1.0, 1.0],
                     energy_bins_mev=bins)
    monkeypatch.setitem(sys.modules, "abinslib.displacements", None)
    with pytest.raises(MissingHarmonicDependency, match="mantid-mdinsim\\[harmonic\\]"):
        harmonic_spectrum_1d(modes, **common)
