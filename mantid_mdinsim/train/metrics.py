"""Errors of NEP models: RMSE and R^2 of energies, forces and virials, parity data, loss curves.

Conventions are GPUMD's (``doc/nep/output_files/loss_out.rst``, and the ``*_train.out`` files):
the energy error is per atom over structures, the force error over every Cartesian component of
every atom, the virial error per atom over the six independent components of the structures that
have a virial target (``nep`` writes -1e6 as the target of a structure without one). So the RMSEs
here reproduce the ``RMSE_*`` columns of ``loss.out`` from the ``*_train.out`` files. Tables are
in meV/atom and meV/Angstrom; the arrays in :class:`Predictions` stay in eV, as ASE and ``nep``.

R^2 is the coefficient of determination, 1 - sum (predicted - target)^2 / sum (target - mean)^2,
over the same values.
"""

from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
from ase import Atoms

from ..io.atomic import atomic_path
from ..spectrum import Table

#: Target value ``nep`` (and neppo) write for a structure without a virial target.
MISSING_TARGET = -1e6

METRIC_COLUMNS = (
    "energy_rmse_mev_per_atom", "energy_r2",
    "force_rmse_mev_per_angstrom", "force_r2",
    "virial_rmse_mev_per_atom", "virial_r2",
)
METRIC_UNITS = {
    "energy_rmse_mev_per_atom": "meV/atom", "force_rmse_mev_per_angstrom": "meV/Angstrom",
    "virial_rmse_mev_per_atom": "meV/atom",
}


def rmse(predicted: np.ndarray, target: np.ndarray) -> float:
    """Root-mean-square difference over all values (NaN when there are none)."""
    predicted, target = np.asarray(predicted, float).ravel(), np.asarray(target, float).ravel()
    if predicted.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean((predicted - target) ** 2)))


def r_squared(predicted: np.ndarray, target: np.ndarray) -> float:
    """Coefficient of determination of ``predicted`` for ``target`` (NaN when undefined)."""
    predicted, target = np.asarray(predicted, float).ravel(), np.asarray(target, float).ravel()
    if predicted.size < 2:
        return float("nan")
    total = np.sum((target - target.mean()) ** 2)
    if total == 0.0:
        return float("nan")
    return float(1.0 - np.sum((predicted - target) ** 2) / total)


@dataclass
class Predictions:
    """Predicted and target values of one model on one set of structures (eV units).

    ``energy_*``: (n_structures,) eV/atom; ``force_*``: (n_atoms, 3) eV/Angstrom;
    ``virial_*``: (n_with_virial, 6) eV/atom, only structures with a virial target.
    """

    energy_predicted: np.ndarray
    energy_target: np.ndarray
    force_predicted: np.ndarray
    force_target: np.ndarray
    virial_predicted: np.ndarray
    virial_target: np.ndarray

    @property
    def n_structures(self) -> int:
        return len(self.energy_target)

    def metrics(self) -> dict[str, float]:
        """RMSE (meV units) and R^2 of energies, forces and virials."""
        return {
            "energy_rmse_mev_per_atom": 1e3 * rmse(self.energy_predicted, self.energy_target),
            "energy_r2": r_squared(self.energy_predicted, self.energy_target),
            "force_rmse_mev_per_angstrom": 1e3 * rmse(self.force_predicted, self.force_target),
            "force_r2": r_squared(self.force_predicted, self.force_target),
            "virial_rmse_mev_per_atom": 1e3 * rmse(self.virial_predicted, self.virial_target),
            "virial_r2": r_squared(self.virial_predicted, self.virial_target),
        }


def _virials_with_target(predicted: np.ndarray, target: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    predicted = np.asarray(predicted, float).reshape(-1, 6)
    target = np.asarray(target, float).reshape(-1, 6)
    keep = ~np.all(np.isclose(target, MISSING_TARGET), axis=1)
    return predicted[keep], target[keep]


def predictions_from_nep_structures(structures: Sequence[Atoms]) -> Predictions:
    """From structures read by :func:`calorine.nep.read_structures` (``*_predicted`` and
    ``*_target`` in info and arrays)."""
    if not structures:
        empty1, empty3, empty6 = np.zeros(0), np.zeros((0, 3)), np.zeros((0, 6))
        return Predictions(empty1, empty1, empty3, empty3, empty6, empty6)
    energy_p = np.array([s.info["energy_predicted"] for s in structures], float).ravel()
    energy_t = np.array([s.info["energy_target"] for s in structures], float).ravel()
    force_p = np.concatenate([s.arrays["force_predicted"] for s in structures])
    force_t = np.concatenate([s.arrays["force_target"] for s in structures])
    virial_p, virial_t = _virials_with_target(
        np.array([s.info["virial_predicted"] for s in structures]),
        np.array([s.info["virial_target"] for s in structures]))
    return Predictions(energy_p, energy_t, force_p, force_t, virial_p, virial_t)


def read_run_predictions(run_directory: str | Path) -> dict[str, Predictions]:
    """The predictions ``nep`` (or neppo) wrote in a run folder: ``{"train": ..., "test": ...}``
    (``test`` only where the run had a test.xyz)."""
    from calorine.nep import read_structures  # calorine: seconds to import, only on this path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train, test = read_structures(str(run_directory))
    result = {"train": predictions_from_nep_structures(train)}
    if test:
        result["test"] = predictions_from_nep_structures(test)
    return result


def target_arrays(structures: Sequence[Atoms]) -> tuple[np.ndarray, list[np.ndarray],
                                                        list[np.ndarray | None]]:
    """Targets of normalised structures: energies (eV/atom), forces (eV/Angstrom) per
    structure, virials per atom (eV/atom, ASE Voigt order; None without a stress)."""
    energies = np.array([s.calc.results["energy"] / len(s) for s in structures])
    forces = [np.asarray(s.calc.results["forces"]) for s in structures]
    virials = []
    for s in structures:
        stress = s.calc.results.get("stress")
        virials.append(None if stress is None else -np.asarray(stress) * s.get_volume() / len(s))
    return energies, forces, virials


def predictions_from_arrays(structures: Sequence[Atoms], energy_per_atom_ev: np.ndarray,
                            forces_ev_per_angstrom: Sequence[np.ndarray],
                            virial_per_atom_ev: Sequence[np.ndarray]) -> Predictions:
    """Predictions given per structure (e.g. by CPUNEP) against the targets of ``structures``.
    Virials are per atom in ASE Voigt order (-stress * volume / n_atoms)."""
    energies, forces, virials = target_arrays(structures)
    keep = [i for i, v in enumerate(virials) if v is not None]
    return Predictions(
        np.asarray(energy_per_atom_ev, float), energies,
        np.concatenate(forces_ev_per_angstrom) if len(forces) else np.zeros((0, 3)),
        np.concatenate(forces) if len(forces) else np.zeros((0, 3)),
        np.array([virial_per_atom_ev[i] for i in keep]).reshape(-1, 6),
        np.array([virials[i] for i in keep]).reshape(-1, 6))


def metrics_table(rows: Iterable[Mapping], title: str = "NEP errors",
                  logs: Mapping | None = None) -> Table:
    """A Table (one row per model and data set) from ``{"model", "dataset", "n_structures",
    <METRIC_COLUMNS>}`` rows."""
    rows = list(rows)
    columns: dict[str, list] = {"model": [], "dataset": [], "n_structures": []}
    columns.update({name: [] for name in METRIC_COLUMNS})
    for row in rows:
        for name in columns:
            columns[name].append(row[name])
    for name in METRIC_COLUMNS:
        columns[name] = np.asarray(columns[name], dtype=float)
    columns["n_structures"] = np.asarray(columns["n_structures"], dtype=int)
    return Table(columns, units=dict(METRIC_UNITS), title=title, name="metrics",
                 logs=dict(logs or {}))


def metrics_row(model: str, dataset: str, predictions: Predictions) -> dict:
    return {"model": model, "dataset": dataset, "n_structures": predictions.n_structures,
            **predictions.metrics()}


def parity_table(entries: Iterable[tuple[str, str, Predictions]],
                 logs: Mapping | None = None) -> Table:
    """Long-form parity data: one row per value (model, dataset, property, component,
    target, predicted); the property names the unit (``energy_mev_per_atom``,
    ``force_mev_per_angstrom``, ``virial_mev_per_atom``)."""
    model, dataset, prop, component, target, predicted = [], [], [], [], [], []

    def add(name, label, kind, components, p, t):
        p, t = np.asarray(p, float), np.asarray(t, float)
        n = t.size
        model.extend([name] * n)
        dataset.extend([label] * n)
        prop.extend([kind] * n)
        if components:
            component.extend(list(components) * (n // len(components)))
        else:
            component.extend([""] * n)
        target.append(1e3 * t.ravel())
        predicted.append(1e3 * p.ravel())

    for name, label, pred in entries:
        add(name, label, "energy_mev_per_atom", (), pred.energy_predicted, pred.energy_target)
        add(name, label, "force_mev_per_angstrom", ("x", "y", "z"), pred.force_predicted,
            pred.force_target)
        add(name, label, "virial_mev_per_atom", ("xx", "yy", "zz", "yz", "xz", "xy"),
            pred.virial_predicted, pred.virial_target)
    return Table({"model": model, "dataset": dataset, "property": prop, "component": component,
                  "target": np.concatenate(target) if target else np.zeros(0),
                  "predicted": np.concatenate(predicted) if predicted else np.zeros(0)},
                 units={"target": "meV/atom or meV/Angstrom (unit in property)",
                        "predicted": "meV/atom or meV/Angstrom (unit in property)"},
                 title="NEP parity data", name="parity", logs=dict(logs or {}))


_LOSS_COLUMNS = {
    "RMSE_E_train": "energy_rmse_train_mev_per_atom",
    "RMSE_F_train": "force_rmse_train_mev_per_angstrom",
    "RMSE_V_train": "virial_rmse_train_mev_per_atom",
    "RMSE_E_test": "energy_rmse_test_mev_per_atom",
    "RMSE_F_test": "force_rmse_test_mev_per_angstrom",
    "RMSE_V_test": "virial_rmse_test_mev_per_atom",
}


def read_loss_curve(loss_path: str | Path) -> dict[str, np.ndarray]:
    """A loss.out (GPUMD's or neppo's, with or without header; calorine's reader) as arrays:
    generation, total_loss and the RMSE columns in meV units."""
    from calorine.nep import read_loss  # calorine: seconds to import, only on this path

    frame = read_loss(str(loss_path))
    curve = {"generation": frame.index.to_numpy().astype(int),
             "total_loss": frame["total_loss"].to_numpy(float)}
    for source, name in _LOSS_COLUMNS.items():
        curve[name] = (1e3 * frame[source].to_numpy(float) if source in frame
                       else np.full(len(frame), np.nan))
    return curve


def loss_table(curves: Mapping[str, Mapping[str, np.ndarray]],
               logs: Mapping | None = None) -> Table:
    """Loss curves of several models in one long-form Table (a ``model`` column)."""
    columns: dict[str, list] = {"model": [], "generation": [], "total_loss": []}
    columns.update({name: [] for name in _LOSS_COLUMNS.values()})
    for model, curve in curves.items():
        n = len(curve["generation"])
        columns["model"].extend([model] * n)
        for name in list(columns)[1:]:
            columns[name].extend(np.asarray(curve[name]).tolist())
    units = {name: ("meV/atom" if "per_atom" in name else "meV/Angstrom")
             for name in _LOSS_COLUMNS.values()}
    units["generation"] = "generations"
    return Table({name: (values if name == "model" else np.asarray(values))
                  for name, values in columns.items()},
                 units=units, title="NEP loss curves", name="loss", logs=dict(logs or {}))


def table_to_csv(table: Table, path: str | Path) -> None:
    """Write a Table as CSV (column names carry their units), atomically."""
    names = list(table.columns)
    with atomic_path(path) as temporary:
        with open(temporary, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(names)
            for row in zip(*(table.columns[name] for name in names)):
                writer.writerow([f"{v:.10g}" if isinstance(v, (float, np.floating)) else v
                                 for v in row])
