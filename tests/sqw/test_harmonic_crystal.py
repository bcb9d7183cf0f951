"""S(q,w) of a harmonic crystal whose exact classical trajectory is known (tests/sqw/harmonic.py).

Independent references: the phonon dispersion omega(q) of the model (coherent peaks, in several
Brillouin zones), and the analytic one-phonon self part (incoherent spectrum), both written from
the model without the engine.
"""

import numpy as np
import pytest

from mantid_mdinsim.sqw import compute_sqw
from mantid_mdinsim.sqw.averaging import energy_resolution_mev

from .harmonic import HarmonicCrystal, direct_spectrum_mev, write_extxyz

TIME_STEP_FS = 10.0
FRAMES = 600
WINDOW = 200
# q in units of the reciprocal supercell vector 2 pi / (4 a): first zone and zones up to
# G = 2 pi / a (2, 2, 1) and beyond, along axes and off them.
Q_INDICES = np.array([[1, 0, 0], [1, 1, 0], [2, 1, 0], [5, 0, 0], [5, 5, 1], [2, 8, 5],
                      [1, 4, 0], [9, 2, 7], [3, 0, 0]])


@pytest.fixture(scope="module")
def crystal():
    return HarmonicCrystal(cells=4, lattice_angstrom=3.0, mass_amu=40.0,
                           spring_ev_per_angstrom2=1.0, temperature_k=50.0, seed=1)


@pytest.fixture(scope="module")
def result(crystal, tmp_path_factory):
    folder = tmp_path_factory.mktemp("harmonic")
    positions = crystal.positions(np.arange(FRAMES) * TIME_STEP_FS)
    trajectory = write_extxyz(folder / "dump.xyz", positions, crystal.cell, crystal.species,
                              TIME_STEP_FS)
    q_file = folder / "q.txt"
    np.savetxt(q_file, Q_INDICES * 2 * np.pi / (crystal.cells * crystal.lattice_angstrom),
               header="qx qy qz (1/Angstrom)")
    return compute_sqw(trajectories=[str(trajectory)], time_step_fs=TIME_STEP_FS,
                       window=WINDOW, q_file=str(q_file), per_q=True, weights="none")


def test_coherent_peak_is_at_the_phonon_energy_in_every_zone(crystal, result):
    resolution = energy_resolution_mev(WINDOW, TIME_STEP_FS)
    positive = result.energy_mev > 2 * resolution           # leave out the elastic line
    energies = result.energy_mev[positive]
    coherent = result.parts["coherent"][0][:, positive]
    for row, q in enumerate(result.q_points.cartesian):
        expected = crystal.energy_mev(q)[0]                   # omega(q) = omega(q mod G)
        peak = energies[np.argmax(coherent[row])]
        assert abs(peak - expected) <= resolution, (q, peak, expected)


def test_spectrum_is_symmetric_classical_and_normalised(result):
    values, errors = result.parts["coherent"]
    np.testing.assert_array_equal(values, values[:, ::-1])       # S(q, -E) = S(q, E)
    np.testing.assert_allclose(result.energy_mev, -result.energy_mev[::-1], atol=1e-12)
    # sum over E of S dE = F(q, 0) = S(q) >= 0, and for the self part F_s(q, 0) = 1
    step = result.energy_mev[1] - result.energy_mev[0]
    self_integral = result.parts["incoherent"][0].sum(axis=1) * step
    np.testing.assert_allclose(self_integral, 1.0, rtol=1e-9)
    assert result.logs["errors_method"].startswith("none")


def test_incoherent_part_is_the_analytic_one_phonon_self_spectrum(crystal, result):
    """For q along x only x-polarised modes move the phase: F_s(q,t) = exp(-q^2 <u_x^2>)
    (1 + q^2 sum_m A_m^2/2 cos(w_m t)) to first order; its cosine transform, written out,
    against the engine at E > 0 (the harmonic VDOS peaks weighted by 1/w^2)."""
    modes = crystal.modes
    along_x = modes["polarisation"] == 0
    u2 = crystal.mean_square_displacement(axis=0)
    lags = np.arange(WINDOW + 1) * TIME_STEP_FS
    positive = result.energy_mev > 0
    energies = result.energy_mev[positive]
    resolution = energy_resolution_mev(WINDOW, TIME_STEP_FS)
    half, full = np.pi / 2 / crystal.lattice_angstrom, np.pi / crystal.lattice_angstrom
    levels = crystal.energy_mev(np.array([[half, 0, 0], [half, half, 0], [half, half, half],
                                          [full, half, half], [full, full, half],
                                          [full, full, full]]))
    for row, q in enumerate(result.q_points.cartesian):
        if np.count_nonzero(q) != 1 or q[0] == 0:
            continue
        qx = q[0]
        f_inelastic = qx ** 2 * np.exp(-qx ** 2 * u2) * (
            0.5 * modes["amplitude"][along_x] ** 2
            * np.cos(np.outer(lags, modes["omega"][along_x]))).sum(axis=1)
        expected = direct_spectrum_mev(f_inelastic, TIME_STEP_FS)[1:]
        found = result.parts["incoherent"][0][row, positive]
        assert np.max(np.abs(found - expected)) < 0.01 * expected.max(), qx
        # its peaks: the distinct frequencies of the 4x4x4 grid, hbar sqrt(2 k s / m); the
        # strong ones (s = 1..4, weights 6, 7.5, 6.7, 3.75 from C(6,s)/s) stand above the
        # sidelobes of the finite window (at most 22% of a peak)
        peaks = [i for i in range(1, len(found) - 1) if found[i] >= found[i - 1]
                 and found[i] >= found[i + 1] and found[i] > 0.3 * found.max()]
        matched = {int(np.argmin(np.abs(levels - energies[i]))) for i in peaks
                   if np.min(np.abs(levels - energies[i])) <= resolution}
        assert len(matched) == len(peaks) and len(matched) >= 4, (energies[peaks], levels)
        assert abs(energies[np.argmax(found)] - levels[1]) <= resolution   # s = 2: 15/2


def test_q_average_is_the_mean_of_the_q_points(result):
    values = result.parts["total"][0]
    np.testing.assert_allclose(result.q_average["total"][0], values.mean(axis=0), rtol=1e-12)
