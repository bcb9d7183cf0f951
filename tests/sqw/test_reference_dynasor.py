"""Agreement with dynasor (a second implementation of the same estimator) on one trajectory, and
the neutron weighting of eq. 5 against a hand-computed sum with published scattering lengths."""

import numpy as np
import pytest

from mantid_mdinsim.sqw import compute_sqw
from mantid_mdinsim.units import HBAR_MEV_FS

from .harmonic import HarmonicCrystal, write_extxyz

TIME_STEP_FS = 10.0
FRAMES = 120
WINDOW = 30
Q_INDICES = np.array([[1, 0, 0], [1, 1, 0], [2, 1, 0], [5, 0, 0], [5, 5, 1], [2, 8, 5],
                      [0, 0, 3], [-3, 2, 1]])
# Sears, Neutron News 3, 26 (1992): bound coherent scattering length (fm) and incoherent
# cross section (barn) of the natural elements.
SEARS = {"H": (-3.7390, 80.26), "Ni": (10.3, 5.2)}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dynasor")
    crystal = HarmonicCrystal(temperature_k=300.0, seed=2,
                              species=["Ni" if i % 3 else "H" for i in range(64)])
    positions = crystal.positions(np.arange(FRAMES) * TIME_STEP_FS)
    # wrap into the cell as MD codes do: commensurate q-points must not notice
    positions = positions % np.diag(crystal.cell)
    trajectory = write_extxyz(folder / "two_species.xyz", positions, crystal.cell,
                              crystal.species, TIME_STEP_FS)
    q_points = Q_INDICES * 2 * np.pi / 12.0
    q_file = folder / "q.txt"
    np.savetxt(q_file, q_points)
    return trajectory, q_file, q_points


@pytest.fixture(scope="module")
def dynasor_sample(inputs):
    import logging

    from dynasor import Trajectory, compute_dynamic_structure_factors

    logging.getLogger("dynasor").setLevel(logging.WARNING)
    trajectory, _, q_points = inputs
    traj = Trajectory(str(trajectory), trajectory_format="extxyz",
                      atomic_indices="read_from_trajectory")
    return compute_dynamic_structure_factors(traj, q_points, dt=TIME_STEP_FS,
                                             window_size=WINDOW, calculate_incoherent=True)


def ours(inputs, weights):
    trajectory, q_file, _ = inputs
    return compute_sqw(trajectories=[str(trajectory)], time_step_fs=TIME_STEP_FS,
                       window=WINDOW, q_file=str(q_file), per_q=True, weights=weights)


def positive(result, name):
    """E >= 0 half of a per-q part, times 2 pi hbar: dynasor's S(q, w) in fs."""
    return result.parts[name][0][:, result.energy_mev >= 0] * 2 * np.pi * HBAR_MEV_FS


def test_partials_and_self_parts_agree_with_dynasor(inputs, dynasor_sample):
    result = ours(inputs, "none")
    np.testing.assert_allclose(result.energy_mev[result.energy_mev >= 0],
                               HBAR_MEV_FS * dynasor_sample.omega, rtol=1e-12)
    for dynasor_name, name in [("Sqw_coh_H_H", "coherent_H_H"), ("Sqw_coh_H_Ni", "coherent_H_Ni"),
                               ("Sqw_coh_Ni_Ni", "coherent_Ni_Ni"), ("Sqw_coh", "coherent"),
                               ("Sqw_incoh_H", "incoherent_H"), ("Sqw_incoh_Ni", "incoherent_Ni"),
                               ("Sqw_incoh", "incoherent")]:
        reference = getattr(dynasor_sample, dynasor_name)
        np.testing.assert_allclose(positive(result, name), reference, rtol=0,
                                   atol=1e-10 * np.abs(reference).max(), err_msg=name)


def test_neutron_weighting_is_eq5_with_sears_values(inputs, dynasor_sample):
    """total = sum_ab b_a b_b S_ab + sum_a sigma_inc,a / (4 pi) S_a^self, from dynasor's
    unweighted partials and the Sears values typed above (1 barn = 100 fm^2)."""
    result = ours(inputs, "neutron")
    b_h, sigma_h = SEARS["H"]
    b_ni, sigma_ni = SEARS["Ni"]
    expected = (b_h * b_h * dynasor_sample.Sqw_coh_H_H + b_h * b_ni * dynasor_sample.Sqw_coh_H_Ni
                + b_ni * b_ni * dynasor_sample.Sqw_coh_Ni_Ni
                + sigma_h * 100 / (4 * np.pi) * dynasor_sample.Sqw_incoh_H
                + sigma_ni * 100 / (4 * np.pi) * dynasor_sample.Sqw_incoh_Ni)
    np.testing.assert_allclose(positive(result, "total"), expected, rtol=1e-6,
                               atol=1e-9 * np.abs(expected).max())
    assert result.logs["b_coherent_fm_H"] == pytest.approx(b_h)
    assert result.logs["sigma_incoherent_barn_Ni"] == pytest.approx(sigma_ni)
    assert "fm^2/meV" in result.unit_label


def test_xray_weights_use_form_factors(inputs, dynasor_sample):
    """X-ray: f_a(|q|) from the Waasmaier-Kirfel table (dynasor) and, for H, the exact
    hydrogen-atom form factor (1 + (q a0 / 2)^2)^-2; no incoherent part."""
    from dynasor.post_processing import XRayFormFactors

    result = ours(inputs, "xray")
    assert "incoherent" not in result.parts
    q = np.linalg.norm(inputs[2], axis=1)
    table = XRayFormFactors(["Ni"])
    f_ni = np.array([table.get_weight_coh("Ni", value) for value in q])
    f_h = 1.0 / (1.0 + (q * 0.529177210903 / 2) ** 2) ** 2
    expected = ((f_h * f_h)[:, None] * dynasor_sample.Sqw_coh_H_H
                + (f_h * f_ni)[:, None] * dynasor_sample.Sqw_coh_H_Ni
                + (f_ni * f_ni)[:, None] * dynasor_sample.Sqw_coh_Ni_Ni)
    np.testing.assert_allclose(positive(result, "total"), expected, rtol=1e-6,
                               atol=1e-9 * np.abs(expected).max())


def test_independent_runs_are_pooled_and_their_spread_is_the_error(inputs, tmp_path):
    """Two runs: the values are their mean (equal lengths) and the errors |S1 - S2| / 2, the
    standard error of the mean of two samples."""
    from mantid_mdinsim.io.trajectory import open_trajectory

    trajectory, q_file, _ = inputs
    with open_trajectory(trajectory) as reader:
        frames = list(reader.frames())
        species, cell = reader.species, reader.cell
    first = write_extxyz(tmp_path / "run1.xyz", np.array(frames[:60]), cell, species,
                         TIME_STEP_FS)
    second = write_extxyz(tmp_path / "run2.xyz", np.array(frames[60:]), cell, species,
                          TIME_STEP_FS)
    common = dict(time_step_fs=TIME_STEP_FS, window=WINDOW, q_file=str(q_file), per_q=True,
                  weights="neutron")
    one = compute_sqw(trajectories=[str(first)], **common)
    two = compute_sqw(trajectories=[str(second)], **common)
    both = compute_sqw(trajectories=[str(first), str(second)], **common)
    for name in ("total", "coherent_H_Ni", "incoherent_H"):
        values, errors = both.parts[name]
        np.testing.assert_allclose(values, (one.parts[name][0] + two.parts[name][0]) / 2,
                                   rtol=1e-10, atol=1e-12 * np.abs(values).max())
        np.testing.assert_allclose(errors, np.abs(one.parts[name][0] - two.parts[name][0]) / 2,
                                   rtol=1e-8, atol=1e-12 * np.abs(values).max())
    assert "2 independent runs" in both.logs["errors_method"]
