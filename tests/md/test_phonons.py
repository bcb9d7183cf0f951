"""Phonons in the CPU backend's trajectory: the current-correlation spectra at the X point of
diamond Si peak at the model's harmonic frequencies (phonopy with calorine's CPUNEP).

The spectra are computed here from the trajectory with numpy (longitudinal and transverse
currents j(q, t) = sum_i v_i exp(i q.r_i)), independently of the S(q,w) step's code."""

from __future__ import annotations

import numpy as np
import pytest

from mantid_mdinsim.md import iter_frames, run_md

from .phonopy_reference import phonopy_with_cpunep

A = 5.43  # Angstrom, the lattice parameter of the structure fixture


def harmonic_frequencies_at_x_thz(model_path):
    from ase.build import bulk

    phonon = phonopy_with_cpunep(bulk("Si", "diamond", a=A), model_path,
                                 np.diag([2, 2, 2]))     # X is commensurate
    phonon.run_qpoints([[0.5, 0.0, 0.5]])                 # X in the fcc primitive basis
    return np.unique(np.round(phonon.qpoints.frequencies[0], 3))   # TA, LA=LO, TO


def current_spectra(frames, dump_interval_fs):
    """Longitudinal and transverse current spectra summed over the six X points
    (+-2pi/a along x, y, z) and frequencies (THz)."""
    positions = np.array([f.positions for f in frames])
    velocities = np.array([f.arrays["vel"] for f in frames])
    n = len(frames)
    longitudinal = np.zeros(n // 2)
    transverse = np.zeros(n // 2)
    for axis in range(3):
        for sign in (1, -1):
            q = np.zeros(3)
            q[axis] = sign * 2 * np.pi / A
            current = np.einsum("tn,tnc->tc", np.exp(1j * positions @ q), velocities)
            power = np.abs(np.fft.fft(current, axis=0))[: n // 2] ** 2
            longitudinal += power[:, axis]
            transverse += power[:, [c for c in range(3) if c != axis]].sum(axis=1)
    frequencies_thz = np.fft.fftfreq(n, d=dump_interval_fs * 1e-3)[: n // 2]
    return frequencies_thz, longitudinal, transverse


def peaks(frequencies, spectrum, threshold=0.15):
    smooth = np.convolve(spectrum, np.ones(3) / 3, mode="same")
    return [frequencies[i] for i in range(1, len(smooth) - 1)
            if smooth[i] >= smooth[i - 1] and smooth[i] >= smooth[i + 1]
            and smooth[i] > threshold * smooth.max()]


def test_x_point_peaks_lie_at_the_harmonic_frequencies(tmp_path, si_structure, si_model):
    harmonic = harmonic_frequencies_at_x_thz(si_model)
    assert len(harmonic) == 3                     # TA, LA/LO, TO (each doubly degenerate)
    result = run_md(structure=str(si_structure), model=str(si_model),
                    output_dir=str(tmp_path / "runs"), temperature_k=[150.0],
                    supercell=[2, 2, 2], time_step_fs=2.0, equilibration="nvt",
                    equilibration_time_ps=0.3, production_time_ps=3.2, dump_interval_fs=8.0,
                    dump_velocities=True, backend="cpu", processes=1)
    frames = list(iter_frames(result.trajectory_paths[0]))
    frequencies, longitudinal, transverse = current_spectra(frames, 8.0)
    resolution = frequencies[1]                   # 1 / 3.2 ps = 0.31 THz
    ta, la_lo, to = harmonic
    found_l = peaks(frequencies, longitudinal)
    found_t = peaks(frequencies, transverse)
    # the longitudinal current at X sees the degenerate LA/LO branch, the transverse one the
    # TA and TO branches; at 150 K anharmonic shifts are well below the resolution
    assert len(found_l) == 1 and found_l[0] == pytest.approx(la_lo, abs=1.2 * resolution)
    assert len(found_t) == 2
    assert found_t[0] == pytest.approx(ta, abs=1.2 * resolution)
    assert found_t[1] == pytest.approx(to, abs=1.2 * resolution)
