"""An exactly solvable reference: a harmonic simple-cubic crystal and its classical trajectory.

Each Cartesian displacement component is coupled to the six nearest neighbours by springs
(``V = k/2 sum_<ij> |u_i - u_j|^2``), so the three polarisations are degenerate with

    omega(q)^2 = (2 k / m) sum_alpha (1 - cos(q_alpha a)),

periodic in the reciprocal lattice: the phonon at q and at q + G has the same frequency. The
trajectory is the exact superposition of the normal modes of an n x n x n supercell (travelling
waves, one per q of the supercell grid and polarisation, equipartition amplitudes
``A^2 = 2 k_B T / (m N omega^2)``, random phases), evaluated at the frame times: no integrator,
no error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import units

from mantid_mdinsim.units import HBAR_MEV_FS


@dataclass
class HarmonicCrystal:
    cells: int = 4
    lattice_angstrom: float = 3.0
    mass_amu: float = 40.0
    spring_ev_per_angstrom2: float = 1.0
    temperature_k: float = 50.0
    seed: int = 0
    species: list[str] | None = None
    modes: dict[str, np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        n, a = self.cells, self.lattice_angstrom
        grid = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3)
        self.sites = grid * a
        self.cell = np.eye(3) * n * a
        q_grid = grid[1:] * 2 * np.pi / (n * a)             # every q of the supercell but 0
        rng = np.random.default_rng(self.seed)
        q = np.repeat(q_grid, 3, axis=0)
        polarisation = np.tile(np.arange(3), len(q_grid))
        omega = self.omega_rad_per_fs(q)
        omega_ase = omega / units.fs
        amplitude = np.sqrt(2 * units.kB * self.temperature_k
                            / (self.mass_amu * self.n_atoms * omega_ase ** 2))
        self.modes = {"q": q, "polarisation": polarisation, "omega": omega,
                      "amplitude": amplitude, "phase": rng.uniform(0, 2 * np.pi, len(q))}
        if self.species is None:
            self.species = ["Ar"] * self.n_atoms

    @property
    def n_atoms(self) -> int:
        return self.cells ** 3

    def omega_rad_per_fs(self, q: np.ndarray) -> np.ndarray:
        """Angular frequency (rad/fs) of the phonon at Cartesian q (1/Angstrom)."""
        q = np.atleast_2d(q)
        s = np.sum(1 - np.cos(q * self.lattice_angstrom), axis=-1)
        return np.sqrt(2 * self.spring_ev_per_angstrom2 / self.mass_amu * s) * units.fs

    def energy_mev(self, q: np.ndarray) -> np.ndarray:
        return HBAR_MEV_FS * self.omega_rad_per_fs(q)

    def positions(self, times_fs: np.ndarray) -> np.ndarray:
        """Positions (T, N, 3) in Angstrom at the given times."""
        m = self.modes
        spatial = m["q"] @ self.sites.T + m["phase"][:, None]      # (modes, atoms)
        result = np.empty((len(times_fs), self.n_atoms, 3))
        weights = np.zeros((len(m["q"]), 3))
        weights[np.arange(len(m["q"])), m["polarisation"]] = m["amplitude"]
        for index, t in enumerate(times_fs):
            waves = np.cos(spatial - (m["omega"] * t)[:, None])     # (modes, atoms)
            result[index] = self.sites + waves.T @ weights
        return result

    def mean_square_displacement(self, axis: int = 0) -> float:
        """<u_axis^2> in Angstrom^2 (sum of A^2/2 over the modes of that polarisation)."""
        m = self.modes
        return float(np.sum(m["amplitude"][m["polarisation"] == axis] ** 2) / 2)


def write_extxyz(path: str | Path, positions: np.ndarray, cell: np.ndarray,
                 species: list[str], time_step_fs: float = 1.0) -> Path:
    """An extended XYZ trajectory as GPUMD's dump_xyz writes it (Time, pbc, Lattice,
    Properties=species:S:1:pos:R:3)."""
    path = Path(path)
    lattice = " ".join(f"{v:.10f}" for v in np.asarray(cell).reshape(-1))
    with open(path, "w") as handle:
        for index, frame in enumerate(positions):
            handle.write(f"{len(species)}\n")
            handle.write(f'Time={index * time_step_fs:.8f} pbc="T T T" Lattice="{lattice}" '
                         "Properties=species:S:1:pos:R:3\n")
            handle.write("".join(f"{s} {x:.10f} {y:.10f} {z:.10f}\n"
                                 for s, (x, y, z) in zip(species, frame)))
    return path


def direct_spectrum_mev(correlation: np.ndarray, time_step_fs: float) -> np.ndarray:
    """S(E_k) = dt (F_0 + 2 sum_{n>=1} F_n cos(w_k n dt)) / (2 pi hbar) at
    w_k = 2 pi k / ((2W + 1) dt), k = 0..W: the cosine transform written out (no FFT)."""
    window = correlation.shape[-1] - 1
    k = np.arange(window + 1)
    n = np.arange(1, window + 1)
    omega = 2 * np.pi * k / ((2 * window + 1) * time_step_fs)
    cosines = np.cos(np.outer(omega, n * time_step_fs))
    values = correlation[..., :1] + 2 * correlation[..., 1:] @ cosines.T
    return time_step_fs * values / (2 * np.pi * HBAR_MEV_FS)
