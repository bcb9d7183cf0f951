"""Ensembles of NEP models and their uncertainty.

The uncertainty of a structure is GPUMD's ``active`` sigma_f (``doc/gpumd/input_parameters/
active.rst``, ``src/measure/active.cu``): for each atom i the variance over the M models of each
Cartesian force component, summed over components, square-rooted, and the largest over atoms,

    sigma_f = max_i sqrt( sum_k var_M(F_ik) ),

with the population variance (division by M, as ``active.cu`` computes it from <F> and <F^2>),
so that a threshold means the same here and in GPUMD's on-the-fly active learning.

Two sources of per-model predictions:

* :class:`Ensemble`: evaluates NEP4 models with calorine's CPUNEP (on CPU, any structures).
* :func:`read_observer_predictions`: GPUMD's own per-model predictions along an MD run
  (``dump_observer observe``: ``observer0.xyz``, ``observer1.xyz``, ... hold the same frames
  evaluated by each potential). This is the way for NEP3 ensembles such as GPUMD's C/H example:
  calorine's CPUNEP reads NEP4 only (and GPUMD's ``nep`` trains NEP4 only since 5.3), so a NEP3
  ensemble is evaluated by ``gpumd`` on a GPU, or replaced by NEP4 models trained here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from ase import Atoms

from ..errors import InputFileError
from .hyperparameters import read_model_header
from .metrics import Predictions, predictions_from_arrays


def force_standard_deviation_per_atom(forces_ev_per_angstrom: np.ndarray) -> np.ndarray:
    """sqrt(sum_k var_M(F_ik)) per atom from forces of shape (n_models, n_atoms, 3), in the
    unit of the forces."""
    forces = np.asarray(forces_ev_per_angstrom, dtype=float)
    if forces.ndim != 3 or forces.shape[2] != 3:
        raise ValueError(f"forces must have shape (n_models, n_atoms, 3), not {forces.shape}")
    if forces.shape[0] < 2:
        raise ValueError("an uncertainty needs at least two models")
    return np.sqrt(np.sum(np.var(forces, axis=0), axis=-1))


def force_uncertainty(forces_ev_per_angstrom: np.ndarray) -> float:
    """GPUMD's sigma_f of one structure: the largest per-atom force standard deviation over
    the models, in the unit of the forces (see the module docstring)."""
    return float(np.max(force_standard_deviation_per_atom(forces_ev_per_angstrom)))


def check_cpu_model(path: str | Path) -> None:
    """Raise a clear error where calorine's CPUNEP cannot evaluate a model file."""
    header = read_model_header(path)
    if header.version != 4:
        raise InputFileError(
            path, f"a NEP{header.version} model: calorine's CPUNEP evaluates NEP4 only, so "
            "this model cannot be evaluated on CPU",
            fix="evaluate a NEP3 ensemble on a GPU with GPUMD (run.in 'dump_observer observe' "
                "or 'active', then mantid_mdinsim.train.read_observer_predictions), or train "
                "NEP4 models here (mdinsim train --ensemble-size 5)")
    if header.model_kind not in ("potential", "temperature"):
        raise InputFileError(path, f"a {header.model_kind} model predicts no forces",
                             fix="give potential models (nep.txt of energies and forces)")


@dataclass
class EnsemblePrediction:
    """Predictions of M models for N structures (eV units, ASE conventions).

    ``energy_per_atom_ev``: (M, N); ``forces_ev_per_angstrom``: N arrays (M, n_atoms, 3);
    ``virial_per_atom_ev``: (M, N, 6), -stress * volume / n_atoms in ASE's Voigt order.
    """

    energy_per_atom_ev: np.ndarray
    forces_ev_per_angstrom: list[np.ndarray]
    virial_per_atom_ev: np.ndarray

    @property
    def n_models(self) -> int:
        return self.energy_per_atom_ev.shape[0]

    def force_uncertainty_mev_per_angstrom(self) -> np.ndarray:
        """sigma_f of each structure (meV/Angstrom)."""
        return np.array([1e3 * force_uncertainty(f) for f in self.forces_ev_per_angstrom])

    def model_predictions(self, structures: Sequence[Atoms], model: int) -> Predictions:
        """One model's predictions against the targets of ``structures``."""
        return predictions_from_arrays(
            structures, self.energy_per_atom_ev[model],
            [f[model] for f in self.forces_ev_per_angstrom], self.virial_per_atom_ev[model])

    def mean_predictions(self, structures: Sequence[Atoms]) -> Predictions:
        """The ensemble mean against the targets of ``structures``."""
        return predictions_from_arrays(
            structures, self.energy_per_atom_ev.mean(axis=0),
            [f.mean(axis=0) for f in self.forces_ev_per_angstrom],
            self.virial_per_atom_ev.mean(axis=0))


class Ensemble:
    """NEP4 model files evaluated with calorine's CPUNEP, one calculator per model."""

    def __init__(self, model_paths: Sequence[str | Path]):
        if not model_paths:
            raise ValueError("an ensemble needs at least one model")
        self.model_paths = [Path(p) for p in model_paths]
        for path in self.model_paths:
            check_cpu_model(path)
        species = {tuple(read_model_header(p).species) for p in self.model_paths}
        if len(species) > 1:
            raise InputFileError(self.model_paths[0], "the models of the ensemble have "
                                 "different species", fix="train all models on the same data")
        self.species = list(next(iter(species)))
        self._calculators = None

    def __len__(self) -> int:
        return len(self.model_paths)

    def calculators(self):
        """One CPUNEP per model (created once)."""
        if self._calculators is None:
            from calorine.calculators import CPUNEP  # calorine: seconds to import, only on this path

            self._calculators = [CPUNEP(str(path)) for path in self.model_paths]
        return self._calculators

    def predict(self, structures: Sequence[Atoms], progress=None) -> EnsemblePrediction:
        """Energies, forces and virials of every model for every structure."""
        calculators = self.calculators()
        n_models, n_structures = len(calculators), len(structures)
        energies = np.zeros((n_models, n_structures))
        virials = np.zeros((n_models, n_structures, 6))
        forces = []
        allowed = set(self.species)
        for j, structure in enumerate(structures):
            extra = set(structure.get_chemical_symbols()) - allowed
            if extra:
                raise InputFileError(self.model_paths[0], f"the ensemble has no {sorted(extra)[0]}"
                                     f" (structure {j})", fix="use models trained on it")
            per_model = np.zeros((n_models, len(structure), 3))
            atoms = Atoms(numbers=structure.numbers, positions=structure.positions,
                          cell=structure.cell, pbc=structure.pbc)
            volume = atoms.get_volume() if atoms.cell.rank == 3 else 0.0
            for m, calculator in enumerate(calculators):
                atoms.calc = calculator
                energies[m, j] = atoms.get_potential_energy() / len(atoms)
                per_model[m] = atoms.get_forces()
                if volume > 0:
                    virials[m, j] = -atoms.get_stress() * volume / len(atoms)
                atoms.calc = None
            forces.append(per_model)
            if progress is not None and (j % 20 == 0 or j == n_structures - 1):
                progress.report((j + 1) / n_structures, f"ensemble on structure {j + 1}")
        return EnsemblePrediction(energies, forces, virials)

    def force_uncertainty_mev_per_angstrom(self, structures: Sequence[Atoms]) -> np.ndarray:
        """sigma_f (meV/Angstrom) of each structure."""
        return self.predict(structures).force_uncertainty_mev_per_angstrom()


def read_observer_predictions(observer_paths: Sequence[str | Path]
                              ) -> tuple[list[Atoms], np.ndarray]:
    """GPUMD's per-model predictions from ``dump_observer observe`` files.

    ``observer_paths`` are ``observer0.xyz``, ``observer1.xyz``, ... (one per potential, the same
    frames). Returns the frames (from the first file) and sigma_f of each frame in
    meV/Angstrom. Works for any NEP version, since GPUMD did the evaluation.
    """
    from ase.io import read  # ase.io loads every file format (seconds)

    if len(observer_paths) < 2:
        raise ValueError("an uncertainty needs the observer files of at least two models")
    frames_per_model = []
    for path in observer_paths:
        path = Path(path)
        try:
            frames = read(str(path), index=":", format="extxyz")
        except Exception as error:
            raise InputFileError(path, f"could not be read ({error})",
                                 fix="give observer*.xyz files written by gpumd's "
                                     "dump_observer") from error
        for k, frame in enumerate(frames):
            if frame.calc is None or "forces" not in frame.calc.results:
                raise InputFileError(path, "no forces", where=f"frame {k}",
                                     fix="write the observer files with has_force 1 "
                                         "(dump_observer observe <n> <n> 0 1)")
        frames_per_model.append((path, frames))
    first_path, first = frames_per_model[0]
    for path, frames in frames_per_model[1:]:
        if len(frames) != len(first):
            raise InputFileError(path, f"{len(frames)} frames, but {first_path.name} has "
                                 f"{len(first)}", fix="give observer files of one run")
        for k, (a, b) in enumerate(zip(first, frames)):
            if len(a) != len(b) or not np.allclose(a.positions, b.positions, atol=1e-4):
                raise InputFileError(path, f"the atoms differ from {first_path.name}",
                                     where=f"frame {k}", fix="give observer files of one run")
    uncertainties = np.array([
        1e3 * force_uncertainty(np.stack([frames[k].calc.results["forces"]
                                          for _, frames in frames_per_model]))
        for k in range(len(first))])
    return first, uncertainties


def read_active_out(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """GPUMD's ``active.out``: time (fs) and sigma_f, returned in meV/Angstrom."""
    data = np.loadtxt(path, ndmin=2)
    if data.shape[1] != 2:
        raise InputFileError(path, f"{data.shape[1]} columns instead of 2 (time, sigma_f)",
                             fix="give the active.out written by gpumd's active keyword")
    return data[:, 0], 1e3 * data[:, 1]
