"""The pieces of the MD-harmonic comparison against references written here: diamond's
extinction rules, the indirect-geometry kinematics solved by hand, peaks paired by distance,
and spectra of different approximations refused."""

from __future__ import annotations

import numpy as np
import pytest

from mantid_mdinsim.approximation import approximation_of, check_same_approximation
from mantid_mdinsim.errors import ParameterError
from mantid_mdinsim.predict import SILICON_STRUCTURE
from mantid_mdinsim.predict.comparison import (bragg_crossings, compare_with_harmonic,
                                               match_peaks, shape_difference,
                                               structure_bragg_points)
from mantid_mdinsim.spectrum import Spectrum, energy_axis

#: hbar^2 / (2 m_n) in meV Angstrom^2.
NEUTRON_MEV_ANGSTROM2 = 2.0721


@pytest.fixture(scope="module")
def silicon_points():
    return structure_bragg_points(str(SILICON_STRUCTURE), 6.0)


def test_silicon_bragg_points_follow_the_diamond_extinction_rules(silicon_points):
    """Diamond (F d -3 m): h, k, l all odd, or all even with h + k + l = 4n; so (111), (220),
    (311), (400), (331), (422) and not (200), (222), (420)."""
    from ase.io import read

    a = read(SILICON_STRUCTURE).cell.lengths()[0]
    labels = [p.label for p in silicon_points]
    assert labels[:6] == ["(111)", "(220)", "(311)", "(400)", "(331)", "(422)"]
    for point in silicon_points:
        h, k, l = point.hkl
        assert point.q_inv_angstrom == pytest.approx(2 * np.pi / a * np.sqrt(h * h + k * k
                                                                             + l * l))
        all_odd = h % 2 == k % 2 == l % 2 == 1
        assert all_odd or (h % 2 == k % 2 == l % 2 == 0 and (h + k + l) % 4 == 0), point


def test_tosca_crosses_the_111_point_where_the_kinematics_say(silicon_points):
    """Indirect geometry: |Q|^2 = ki^2 + kf^2 - 2 ki kf cos(2 theta), so at |Q| = |G|
    ki = kf cos(2 theta) + sqrt(G^2 - kf^2 sin^2(2 theta)) and E = hbar^2 ki^2 / 2m - Ef."""
    from mantid_mdinsim.instrument import get_instrument

    run = get_instrument("TOSCA").configure()
    crossings = bragg_crossings(silicon_points, {"instrument": "TOSCA"}, 1.0, 100.0)
    g111 = silicon_points[0].q_inv_angstrom
    for bank in run.banks:
        kf = np.sqrt(bank.final_energy_mev / NEUTRON_MEV_ANGSTROM2)
        angle = np.radians(bank.two_theta_deg)
        ki = kf * np.cos(angle) + np.sqrt(g111 ** 2 - (kf * np.sin(angle)) ** 2)
        expected = NEUTRON_MEV_ANGSTROM2 * ki ** 2 - bank.final_energy_mev
        found = [c for c in crossings if c["hkl"] == "(111)" and c["bank"] == bank.name]
        if 1.0 < expected < 100.0:
            assert len(found) == 1 and found[0]["energy_mev"] == pytest.approx(expected,
                                                                               abs=0.02)
    # The forward bank meets (111) near 11 meV: where the full Si spectrum peaks.
    forward = [c for c in crossings if c["hkl"] == "(111)" and "orward" in c["bank"]]
    assert forward and 10.0 < forward[0]["energy_mev"] < 12.5


def test_peaks_are_paired_closest_first_within_the_tolerance():
    result = match_peaks([11.0, 17.5, 38.5, 56.3, 72.0], [17.9, 39.8, 57.7], 3.0)
    assert [(m["harmonic_mev"], m["md_mev"]) for m in result["matched"]] == [
        (17.9, 17.5), (39.8, 38.5), (57.7, 56.3)]
    assert [m["shift_mev"] for m in result["matched"]] == [-0.4, -1.3, -1.4]
    assert result["md_only"] == [11.0, 72.0] and result["harmonic_only"] == []
    # One MD peak between two harmonic ones goes to the closer; the other stays unmatched.
    result = match_peaks([20.0], [18.0, 21.0], 5.0)
    assert result["matched"] == [{"harmonic_mev": 21.0, "md_mev": 20.0, "shift_mev": -1.0}]
    assert result["harmonic_only"] == [18.0]


def test_shape_difference_of_identical_scaled_and_disjoint_curves():
    energy = np.linspace(0, 100, 401)
    peak = np.exp(-0.5 * ((energy - 30) / 2) ** 2)
    other = np.exp(-0.5 * ((energy - 70) / 2) ** 2)
    assert shape_difference(energy, peak, energy, 5 * peak) == pytest.approx(0.0, abs=1e-12)
    assert shape_difference(energy, peak, energy, other) == pytest.approx(1.0, abs=1e-6)
    assert shape_difference(energy, peak, energy, peak + other) == pytest.approx(0.5, abs=1e-6)


def _curve(approximation, centre=40.0):
    energy = np.arange(1.0, 80.0, 0.5)
    values = np.exp(-0.5 * ((energy - centre) / 1.5) ** 2)[None, :]
    logs = {} if approximation is None else {"scattering_approximation": approximation}
    return Spectrum(x=energy_axis(energy), values=values, distribution=True, logs=logs)


def test_spectra_of_different_approximations_are_refused_or_flagged():
    full, harmonic = _curve("full", 41.0), _curve("incoherent")
    with pytest.raises(ParameterError, match="--approximation incoherent"):
        compare_with_harmonic(full, harmonic)
    flagged = compare_with_harmonic(full, harmonic, allow_different_approximations=True)
    assert flagged["like_for_like"] is False and "not like for like" in flagged["warning"]
    assert flagged["matched"] == [{"harmonic_mev": 40.0, "md_mev": 41.0, "shift_mev": 1.0}]
    same = compare_with_harmonic(_curve("incoherent", 41.0), harmonic)
    assert same["like_for_like"] is True and "warning" not in same
    # A spectrum made elsewhere (no log) is not refused, and not called like for like.
    assert compare_with_harmonic(_curve(None), harmonic)["like_for_like"] is False
    assert check_same_approximation({}, harmonic.logs) is None
    assert approximation_of({"input_scattering_approximation": "full"}) == "full"
