"""The mean-squared displacement about the mean positions, against analytic paths."""

from __future__ import annotations

import numpy as np
import pytest

from mantid_mdinsim.md.msd import DisplacementAccumulator, mean_squared_displacement, minimum_image


def _oscillating_frames(n_frames=60, amplitude=(0.1, 0.2), box=6.0, drift=0.0):
    """Two species on harmonic paths x = x0 + A sin(wt + phase) across the cell boundary."""
    from ase import Atoms

    n = 8
    x0 = np.zeros((n, 3))
    x0[:, 0] = box - 0.05          # next to the boundary: the wrapped path jumps
    x0[:, 1] = np.linspace(0.5, 5.5, n)
    symbols = ["Si", "O"] * (n // 2)
    amplitudes = np.array([amplitude[0], amplitude[1]] * (n // 2))
    phases = 2 * np.pi * np.arange(n) / n
    frames = []
    for k in range(n_frames):
        t = 2 * np.pi * 3 * k / n_frames            # three whole periods
        positions = x0.copy()
        positions[:, 0] += amplitudes * np.sin(t + phases) + drift * k
        atoms = Atoms(symbols, positions=positions, cell=[box, box, box], pbc=True)
        atoms.wrap()
        frames.append(atoms)
    return frames, symbols


def test_harmonic_paths_give_half_the_squared_amplitude():
    frames, symbols = _oscillating_frames()
    masses = np.ones(len(symbols))       # equal masses: the phases cancel the centre of mass
    total, by_species = mean_squared_displacement(frames, masses, symbols)
    assert by_species["Si"] == pytest.approx(0.1**2 / 2, rel=1e-10)
    assert by_species["O"] == pytest.approx(0.2**2 / 2, rel=1e-10)
    assert total == pytest.approx((0.1**2 + 0.2**2) / 4, rel=1e-10)


def test_a_rigid_drift_of_the_crystal_is_not_a_vibration():
    frames, symbols = _oscillating_frames(drift=0.01)
    total, _ = mean_squared_displacement(frames, np.ones(len(symbols)), symbols)
    assert total == pytest.approx((0.1**2 + 0.2**2) / 4, rel=1e-10)


def test_state_round_trip_continues_the_sums():
    frames, symbols = _oscillating_frames()
    whole = DisplacementAccumulator(np.ones(8))
    whole.add_frames(frames)
    first = DisplacementAccumulator(np.ones(8))
    first.add_frames(frames[:25])
    second = DisplacementAccumulator(np.ones(8))
    second.restore({k: np.array(v) for k, v in first.state().items()})
    second.add_frames(frames[25:])
    np.testing.assert_allclose(second.per_atom_angstrom2(), whole.per_atom_angstrom2(),
                               rtol=1e-12)


def test_minimum_image_in_a_triclinic_cell():
    cell = np.array([[4.0, 0.0, 0.0], [2.0, 3.5, 0.0], [0.0, 0.0, 5.0]])
    delta = np.array([[3.9, 0.0, 0.0], [2.0 + 0.1, 3.5, 0.0]])
    np.testing.assert_allclose(minimum_image(delta, cell), [[-0.1, 0, 0], [0.1, 0, 0]],
                               atol=1e-12)
