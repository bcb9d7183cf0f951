"""Train mdinsim's demo silicon NEP model on CPU (neppo) from the project's GPAW reference data.

This is the second half of the recipe of the model shipped as
``mantid_mdinsim/data/Si_demo_NEP4.txt`` (the first half, ``generate_reference_gpaw.py``, labels
8-atom silicon cells with GPAW/PBE into ``si_gpaw_reference.xyz``). It

1. reads the reference structures and splits them, deterministically, into a training set and a
   test set (every fifth strained-and-rattled structure is held out; the equation-of-state
   structures all train);
2. trains one NEP4 model with mdinsim's training step (:func:`mantid_mdinsim.train.train_nep`),
   backend neppo (PyTorch on CPU), fixed seed and one thread, so the same inputs give the same
   model;
3. checks the model's physics: the lattice parameter of its relaxed cell, and its harmonic phonon
   frequencies at Gamma, X and L (phonopy through :mod:`mantid_mdinsim.harmonic`), against
   experiment and, where ``../shared/data/nep/Si_2022_NEP4_3body.txt`` exists, against the
   published general-purpose Si NEP (Fan et al. 2022, the paper's Si model);
4. writes the model, ``Si_demo_NEP4.metrics.json`` (data, settings, test-set RMSE, phonons) and
   the demo structure ``Si_diamond_cubic.xyz`` (the cubic cell at the model's lattice
   parameter) into ``mantid_mdinsim/data``.

Run from the repository root (about 10 minutes on one core)::

    python examples/si_demo_model/train_demo_model.py

Units: meV/atom and meV/Angstrom (errors), THz (phonons), Angstrom.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parents[1]
DEFAULT_REFERENCE = HERE / "si_gpaw_reference.xyz"
DEFAULT_OUTPUT = REPOSITORY / "mantid_mdinsim" / "data" / "Si_demo_NEP4.txt"
#: The demo structure, written beside the model: the 8-atom cubic cell at the model's 0 K
#: lattice parameter.
STRUCTURE_NAME = "Si_diamond_cubic.xyz"
SHARED_SI_NEP = REPOSITORY.parent / "shared" / "data" / "nep" / "Si_2022_NEP4_3body.txt"

#: The structures of generate_reference_gpaw.py: 9 isotropic strains, then rattled cells.
N_EQUATION_OF_STATE = 9
#: Every TEST_EVERY-th rattled structure is held out as the test set.
TEST_EVERY = 5
EXPECTED_STRUCTURES = 120

#: A small, fast NEP4 (CPU MD of a few hundred atoms runs at interactive speed): silicon needs
#: its first three neighbour shells (2.35, 3.84, 4.50 Angstrom) in the radial descriptor.
MODEL_SETTINGS = dict(
    radial_cutoff_angstrom=5.0, angular_cutoff_angstrom=4.0, n_max_radial=6, n_max_angular=4,
    basis_size_radial=6, basis_size_angular=6, l_max_3body=4, l_max_4body=2, l_max_5body=0,
    neurons=30)
TRAINING_SETTINGS = dict(backend="neppo", generations=6000, batch_size=16, output_interval=100,
                         lambda_energy=1.0, lambda_force=1.0, lambda_virial=0.1, seed=2025,
                         threads=1, ensemble_size=1)

#: Experimental phonon frequencies of Si (THz): inelastic neutron scattering at room
#: temperature, G. Dolling, in Inelastic Scattering of Neutrons in Solids and Liquids (IAEA,
#: 1963), as tabulated by Giannozzi et al., Phys. Rev. B 43, 7231 (1991), Table III.
EXPERIMENT_THZ = {
    "Gamma": {"TO/LO": 15.53},
    "X": {"TA": 4.49, "LA/LO": 12.32, "TO": 13.90},
    "L": {"TA": 3.43, "LA": 11.35, "LO": 12.60, "TO": 14.68},
}
EXPERIMENT_LATTICE_ANGSTROM = 5.431  # room temperature
#: Our names of the points -> ASE's names of the fcc special points.
POINTS = {"Gamma": "G", "X": "X", "L": "L"}


def split(structures: list) -> tuple[list, list]:
    """(training, test): every TEST_EVERY-th rattled structure goes to the test set."""
    training, test = [], []
    for index, atoms in enumerate(structures):
        rattled_index = index - N_EQUATION_OF_STATE
        if rattled_index >= 0 and rattled_index % TEST_EVERY == TEST_EVERY - 1:
            test.append(atoms)
        else:
            training.append(atoms)
    return training, test


def phonon_frequencies_thz(model_path: Path) -> dict:
    """Lattice parameter (Angstrom) of the model's relaxed cubic cell and its harmonic
    frequencies (THz) at Gamma, X and L, with the project's harmonic step (cell relaxed with the
    model, phonopy finite displacements, calorine's CPUNEP, euphonic)."""
    from ase.build import bulk

    from mantid_mdinsim.harmonic import harmonic_phonons

    # The primitive (2-atom) cell: in the 8-atom cubic cell X folds onto Gamma.
    atoms = bulk("Si", "diamond", a=EXPERIMENT_LATTICE_ANGSTROM)
    phonons = harmonic_phonons(atoms, model_path, relax="cell")
    lattice = float(np.cbrt(4.0 * phonons.structure.get_volume()))
    special = phonons.structure.cell.get_bravais_lattice().get_special_points()
    frequencies = phonons.frequencies_thz(np.array([special[POINTS[name]] for name in POINTS]))
    result = {"lattice_parameter_angstrom": round(lattice, 4)}
    for name, values in zip(POINTS, frequencies):
        result[name] = sorted({round(float(v), 2) for v in values if v > 0.3})
    return result


def compare(frequencies: dict) -> dict:
    """Model minus experiment for each tabulated mode (THz). The distinct model frequencies at a
    point and the tabulated modes are both in ascending order (degenerate branches counted
    once), so they pair up in order."""
    deviations = {}
    for point, modes in EXPERIMENT_THZ.items():
        model = frequencies[point]
        if len(model) != len(modes):
            deviations[point] = f"{len(model)} distinct model branches, {len(modes)} tabulated"
            continue
        for (mode, value), computed in zip(modes.items(), model):
            deviations[f"{point} {mode}"] = round(computed - value, 2)
    return deviations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE,
                        help="GPAW reference data (extended XYZ with energy, forces, stress)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="where the model goes (the metrics JSON goes beside it)")
    parser.add_argument("--work-dir", type=Path, default=Path("si_demo_training"),
                        help="training folder (resumable; not part of the repository)")
    parser.add_argument("--generations", type=int, default=TRAINING_SETTINGS["generations"],
                        help="neppo AdamW steps")
    args = parser.parse_args(argv)

    from ase.io import read, write

    from mantid_mdinsim.progress import terminal_progress
    from mantid_mdinsim.train import train_nep

    structures = read(args.reference, ":")
    if len(structures) < EXPECTED_STRUCTURES:
        print(f"note: {args.reference} holds {len(structures)} of {EXPECTED_STRUCTURES} "
              "structures (generate_reference_gpaw.py has not finished): a provisional model",
              file=sys.stderr)
    training, test = split(structures)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    write(args.work_dir / "train.xyz", training, format="extxyz")
    write(args.work_dir / "test.xyz", test, format="extxyz")

    settings = dict(TRAINING_SETTINGS, generations=args.generations)
    started = time.monotonic()
    with terminal_progress("training the demo Si NEP") as progress:
        result = train_nep(dict(training_set=[str(args.work_dir / "train.xyz")],
                                test_set=[str(args.work_dir / "test.xyz")],
                                output_directory=str(args.work_dir / "model"),
                                **MODEL_SETTINGS, **settings), progress)
    training_seconds = time.monotonic() - started
    done_marker = args.work_dir / "model" / "nepmodel_full" / ".mdinsim-done.json"
    if done_marker.is_file():  # the time of the training itself, also when it was resumed
        training_seconds = json.loads(done_marker.read_text()).get("seconds", training_seconds)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(result.model_path, args.output)

    errors = {}
    for dataset in ("train", "test"):
        errors[dataset] = {column: round(result.metric("full", dataset, column), 3) for column in (
            "energy_rmse_mev_per_atom", "force_rmse_mev_per_angstrom",
            "virial_rmse_mev_per_atom", "force_r2")}
    phonons = {"demo model": phonon_frequencies_thz(args.output)}
    if SHARED_SI_NEP.is_file():
        phonons["Si_2022_NEP4_3body (published, shared data)"] = phonon_frequencies_thz(
            SHARED_SI_NEP)
    metrics = {
        "model": args.output.name,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "recipe": "examples/si_demo_model/generate_reference_gpaw.py (GPAW PBE, 300 eV, 3x3x3 "
                  "k-points, 8-atom cells) then examples/si_demo_model/train_demo_model.py",
        "reference_structures": len(structures), "training_structures": len(training),
        "test_structures": len(test), "model_settings": MODEL_SETTINGS,
        "training_settings": settings, "training_backend": result.backend,
        "training_seconds": round(training_seconds, 1),
        "rmse": errors,
        "phonons_thz": phonons,
        "experiment_thz": EXPERIMENT_THZ,
        "experiment_lattice_parameter_angstrom": EXPERIMENT_LATTICE_ANGSTROM,
        "demo_minus_experiment_thz": compare(phonons["demo model"]),
    }
    from ase.build import bulk

    lattice = phonons["demo model"]["lattice_parameter_angstrom"]
    write(args.output.with_name(STRUCTURE_NAME), bulk("Si", "diamond", a=lattice, cubic=True),
          format="extxyz")
    metrics_path = args.output.with_suffix(".metrics.json")
    metrics_path.write_text(json.dumps(metrics, indent=1) + "\n")
    print(json.dumps({key: metrics[key] for key in ("reference_structures", "rmse",
                                                     "phonons_thz",
                                                     "demo_minus_experiment_thz")}, indent=1))
    print(f"wrote {args.output}, {metrics_path} and {args.output.with_name(STRUCTURE_NAME)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
