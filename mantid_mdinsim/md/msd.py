"""The mean-squared displacement U = <|u|^2> about the mean positions, for the Debye-Waller
correction.

For every atom i, u_i(t) = r_i(t) - <r_i>_t over the production frames, with the positions
unwrapped (continuous across the cell boundary) and the centre-of-mass displacement removed
(a translation of the whole crystal is not a vibration). U_i = <|u_i|^2>_t, the full
three-dimensional value; U is its mean over atoms (and per species). The isotropic
Debye-Waller factor is exp(-Q^2 U / 3).

The accumulator is streaming (sums of u and u^2 per atom, relative to the first frame, in
float64) so that it neither keeps the trajectory in memory nor loses precision, and its state
goes into checkpoints.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np


def minimum_image(delta: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Displacements ``delta`` (n, 3) mapped to their shortest periodic image in ``cell``
    (rows a, b, c). Exact for displacements shorter than half the shortest cell height,
    which holds between frames of a solid or liquid a few fs apart."""
    fractional = np.linalg.solve(cell.T, delta.T).T
    fractional -= np.rint(fractional)
    return fractional @ cell


class DisplacementAccumulator:
    """Streaming per-atom <u> and <|u|^2> over frames (see the module docstring)."""

    def __init__(self, masses: np.ndarray):
        self.masses = np.asarray(masses, dtype=float)
        self.n_frames = 0
        self._reference: np.ndarray | None = None
        self._previous: np.ndarray | None = None   # unwrapped positions of the last frame
        self._sum = np.zeros((len(self.masses), 3))
        self._sum_squares = np.zeros((len(self.masses), 3))

    def add(self, positions: np.ndarray, cell: np.ndarray) -> None:
        """Add one frame (positions in Angstrom, wrapped or not; the frame's cell)."""
        positions = np.asarray(positions, dtype=float)
        if self._previous is None:
            unwrapped = positions.copy()
            self._reference = positions.copy()
        else:
            step = minimum_image(positions - self._previous, np.asarray(cell, dtype=float))
            unwrapped = self._previous + step
        self._previous = unwrapped
        displacement = unwrapped - self._reference
        centre_of_mass = self.masses @ displacement / self.masses.sum()
        displacement -= centre_of_mass
        self._sum += displacement
        self._sum_squares += displacement**2
        self.n_frames += 1

    def add_frames(self, frames: Iterable[Any]) -> None:
        for frame in frames:
            self.add(frame.get_positions(), np.array(frame.cell))

    def per_atom_angstrom2(self) -> np.ndarray:
        """U_i = <|u_i|^2> (Angstrom^2) per atom."""
        if self.n_frames < 2:
            raise ValueError("the mean-squared displacement needs at least two frames")
        mean = self._sum / self.n_frames
        variance = self._sum_squares / self.n_frames - mean**2
        return np.clip(variance, 0.0, None).sum(axis=1)

    def result(self, symbols: list[str]) -> tuple[float, dict[str, float]]:
        """U over all atoms and per species (Angstrom^2)."""
        per_atom = self.per_atom_angstrom2()
        symbols_array = np.asarray(symbols)
        by_species = {str(s): float(per_atom[symbols_array == s].mean())
                      for s in sorted(set(symbols))}
        return float(per_atom.mean()), by_species

    # -- checkpointing -------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        empty = np.zeros((0, 3))
        return {"msd_n_frames": np.array(self.n_frames),
                "msd_reference": empty if self._reference is None else self._reference,
                "msd_previous": empty if self._previous is None else self._previous,
                "msd_sum": self._sum, "msd_sum_squares": self._sum_squares}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        self.n_frames = int(state["msd_n_frames"])
        reference, previous = state["msd_reference"], state["msd_previous"]
        self._reference = None if reference.size == 0 else reference.copy()
        self._previous = None if previous.size == 0 else previous.copy()
        self._sum = state["msd_sum"].copy()
        self._sum_squares = state["msd_sum_squares"].copy()


def mean_squared_displacement(frames: Iterable[Any], masses: np.ndarray,
                              symbols: list[str]) -> tuple[float, dict[str, float]]:
    """U (Angstrom^2) overall and per species of a sequence of ASE frames."""
    accumulator = DisplacementAccumulator(masses)
    accumulator.add_frames(frames)
    return accumulator.result(symbols)
