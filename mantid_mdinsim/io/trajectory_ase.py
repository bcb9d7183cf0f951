"""ASE ``.traj`` trajectories (ASE's binary Ulm format), read frame by frame with
:class:`ase.io.Trajectory`, which loads one frame at a time."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ..errors import InputFileError
from .trajectory import TrajectoryReader, check_symbols


class AseTrajectoryReader(TrajectoryReader):
    """ASE ``.traj``; species are the chemical symbols stored with the atoms."""

    format = "ase"

    def __init__(self, path):
        super().__init__(path)
        from ase.io import Trajectory  # ase.io takes seconds to import; .traj files only

        try:
            self._trajectory = Trajectory(str(self.path), "r")
            self._length = len(self._trajectory)
            if self._length == 0:
                raise self.frame_error(0, "the file holds no frame")
            atoms = self._trajectory[0]
        except InputFileError:
            raise
        except Exception as error:  # Ulm raises several types for damaged files
            raise self.frame_error(0, f"cannot be read as an ASE trajectory ({error})",
                                   "the file is damaged or not an ASE .traj file") from None
        self.n_atoms = len(atoms)
        self.species = atoms.get_chemical_symbols()
        check_symbols(self.path, self.species, "frame 0")
        self.cell = np.asarray(atoms.cell.array, dtype=float)
        if abs(np.linalg.det(self.cell)) < 1e-9:
            raise self.frame_error(0, "the atoms have no (or a degenerate) cell",
                                   "S(q,w) needs the periodic cell of the simulation")

    def estimated_frame_count(self) -> int:
        return self._length

    def close(self) -> None:
        self._trajectory.close()

    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        for index in range(start, self._length):
            try:
                atoms = self._trajectory[index]
            except Exception as error:
                raise self.frame_error(index, f"cannot be read ({error})",
                                       "the file is truncated or damaged") from None
            if len(atoms) != self.n_atoms:
                raise self.frame_error(index, f"has {len(atoms)} atoms, frame 0 has "
                                       f"{self.n_atoms}")
            if atoms.get_chemical_symbols() != self.species:
                raise self.frame_error(index, "the species differ from frame 0")
            self.check_cell(np.asarray(atoms.cell.array, dtype=float), index)
            positions = np.array(atoms.positions, dtype=float)
            yield positions
