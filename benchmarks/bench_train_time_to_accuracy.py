"""Time to accuracy of ``mdinsim train`` with its CPU (neppo) defaults.

The issue's case: about 100 cells of 64 atoms on two cores, to be trained in under 5 minutes to
energies within a few meV/atom and forces within about 100 meV/Angstrom. Two data sets, each
100 cells to train and 20 held out, 64-atom diamond silicon cells strained by up to 2 % and
labelled with ASE's Tersoff potential (``bench_train.py``):

* ``md`` (the case the targets are for): frames of Langevin MD at 300 and 600 K, as active
  learning samples them at the temperatures of interest (mdinsim's own sampler with the shipped
  demo NEP; the held-out cells come from other runs than the training cells). RMS force
  component 0.69 eV/Angstrom at 300 K, 1.0 at 600 K, 0.86 in all. This is what the workflow
  trains on, so the targets are judged on it.
* ``rattled`` (the earlier benchmark, kept for comparison): every atom displaced at random by
  0.1 Angstrom per Cartesian component, independently of its neighbours. RMS force component
  2.25 eV/Angstrom, 3 times the 300 K MD's: uncorrelated displacements put weight on the
  stiffest bond stretches that thermal motion hardly reaches, so its force RMSE is a much
  harder test than the workflow poses.

The force RMSE is also printed relative to the data's RMS force (a fractional error, comparable
across the two sets), and split between held-out atoms with a bond where Tersoff's Si(C) is
least smooth (in its cutoff function's switching range, R - D to R + D = 2.70-3.00 Angstrom, or
compressed below 2.0 Angstrom) and the others, from the trained model's forces (calorine's
CPUNEP). Measured (load 14, 2 December 2026): in the rattled set 73 of 1280 held-out atoms
(6 %) have such a bond and carry 78 % of the squared force error (1006 meV/Angstrom on them,
133 on the others, after 1000 steps); in the MD set almost none do (0.02 % of bonds in the
switching range against 0.8 %). The rattled set's 240 meV/Angstrom plateau is that kink of
Tersoff's cutoff (a 0.3 Angstrom switch between the first and second neighbour shells, an
artefact of the potential that no smooth NEP descriptor of a 5 Angstrom cutoff resolves), not
the training's length, loss weights or network size, which did not move it. The training uses only the defaults (cutoffs,
batch, steps, early stopping) plus ``--time-budget-minutes`` if given, and prints the wall time
of the whole call, where the training stopped, the held-out errors and their ratio to the
targets, with the CPU time of the training and the held-out errors at every report of the loss
curve (steps, so that runs on a loaded machine can be judged by errors reached per step).

    cd benchmarks && python bench_train_time_to_accuracy.py                # both data sets
    cd benchmarks && python bench_train_time_to_accuracy.py --data md      # the target case
    cd benchmarks && python bench_train_time_to_accuracy.py --time-budget-minutes 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from ase.io import write

from bench_train import md_sampled_silicon_set, rms_force_ev_per_angstrom, silicon_set
from mantid_mdinsim.train import train_nep

TARGET_SECONDS = 300.0
TARGET_ENERGY_MEV_PER_ATOM = 3.0
TARGET_FORCE_MEV_PER_ANGSTROM = 100.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--structures", type=int, default=100)
    parser.add_argument("--time-budget-minutes", type=float, default=None)
    parser.add_argument("--data", choices=("md", "rattled", "both"), default="both")
    args = parser.parse_args()
    for data in (("md", "rattled") if args.data == "both" else (args.data,)):
        measure(args, data)


def measure(args: argparse.Namespace, data: str) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        make = md_sampled_silicon_set if data == "md" else silicon_set
        structures = make(args.structures + 20, seed=0)
        rms_force_mev = 1e3 * rms_force_ev_per_angstrom(structures)
        write(folder / "train.xyz", structures[:args.structures])
        write(folder / "test.xyz", structures[args.structures:])
        started = time.perf_counter()
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = train_nep(dict(training_set=[str(folder / "train.xyz")],
                                test_set=[str(folder / "test.xyz")],
                                output_directory=str(folder / "out"), backend="neppo",
                                time_budget_minutes=args.time_budget_minutes))
        seconds = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_seconds = (cpu_after.ru_utime + cpu_after.ru_stime
                       - cpu_before.ru_utime - cpu_before.ru_stime)
        done = json.loads((folder / "out" / "nepmodel_full" / ".mdinsim-done.json").read_text())
        curve = _held_out_curve(folder / "out" / "nepmodel_full" / "loss.out")
        flagged, total, flagged_rmse, other_rmse = _force_error_by_bond_kind(
            result.model_path, structures[args.structures:])
    energy = result.metric("full", "test", "energy_rmse_mev_per_atom")
    force = result.metric("full", "test", "force_rmse_mev_per_angstrom")
    print(f"\n== data {data}: {args.structures} training + 20 test cells of 64 Si atoms, "
          f"RMS force component {rms_force_mev:.0f} meV/Angstrom; {os.cpu_count()} cores, "
          f"neppo defaults" + (f", budget {args.time_budget_minutes} min"
                               if args.time_budget_minutes else ""))
    print(f"wall time {seconds:.0f} s (target {TARGET_SECONDS:.0f} s, ratio "
          f"{seconds / TARGET_SECONDS:.2f}); {done.get('stopped_early') or 'all steps run'}")
    print(f"the model's training (the part the budget limits, its final report and best-model "
          f"predictions included) {done.get('seconds', float('nan')):.0f} s")
    steps = curve[-1][0] if curve else 0
    print(f"training processes' CPU time {cpu_seconds:.0f} s over {steps} steps "
          f"({1e3 * cpu_seconds / max(steps, 1):.0f} CPU ms per step, evaluation included)")
    print("held-out RMSE at each report: step, energy meV/atom, force meV/Angstrom")
    for step, energy_mev, force_mev in curve:
        print(f"  {step:6d} {energy_mev:8.2f} {force_mev:8.1f}")
    print(f"held-out atoms with a bond in Tersoff's switching range (2.70-3.00 Angstrom) or "
          f"below 2.0 Angstrom: {flagged} of {total}; force RMSE "
          + (f"on them {flagged_rmse:.0f}, on the others " if flagged else "")
          + f"{other_rmse:.0f} meV/Angstrom")
    print(f"test RMSE: energy {energy:.2f} meV/atom (ratio to {TARGET_ENERGY_MEV_PER_ATOM:g}: "
          f"{energy / TARGET_ENERGY_MEV_PER_ATOM:.2f}), force {force:.1f} meV/Angstrom "
          f"(ratio to {TARGET_FORCE_MEV_PER_ANGSTROM:g}: "
          f"{force / TARGET_FORCE_MEV_PER_ANGSTROM:.2f}; {100 * force / rms_force_mev:.1f} % of "
          f"the data's RMS force)")


def _force_error_by_bond_kind(model_path: Path, structures) -> tuple[int, int, float, float]:
    """Held-out atoms with a bond in Tersoff's switching range (R - D to R + D, 2.70-3.00
    Angstrom) or below 2.0 Angstrom, all atoms, and the force RMSE (meV/Angstrom) of the model
    on those atoms and on the others."""
    from ase.neighborlist import neighbor_list
    from calorine.calculators import CPUNEP

    flagged_errors, other_errors = [], []
    for atoms in structures:
        reference = atoms.get_forces()
        copy = atoms.copy()
        copy.calc = CPUNEP(str(model_path))
        errors = copy.get_forces() - reference
        first, distance = neighbor_list("id", atoms, 3.0)
        flagged = np.zeros(len(atoms), bool)
        flagged[first[(distance > 2.70) | (distance < 2.0)]] = True
        flagged_errors.append(errors[flagged])
        other_errors.append(errors[~flagged])
    flagged_errors = np.concatenate(flagged_errors)
    other_errors = np.concatenate(other_errors)

    def rmse(values):
        return 1e3 * float(np.sqrt(np.mean(values ** 2))) if len(values) else float("nan")

    return (len(flagged_errors), len(flagged_errors) + len(other_errors), rmse(flagged_errors),
            rmse(other_errors))


def _held_out_curve(loss_path: Path) -> list[tuple[int, float, float]]:
    """(step, test energy RMSE meV/atom, test force RMSE meV/Angstrom) per row of loss.out."""
    columns, rows = [], []
    for line in loss_path.read_text().splitlines():
        if line.startswith("# columns"):
            columns = line.split()[2:]
        elif line.strip() and not line.startswith("#") and columns:
            values = dict(zip(columns, line.split()))
            rows.append((int(float(values["generation"])),
                         1e3 * float(values["rmse_energy_test"]),
                         1e3 * float(values["rmse_force_test"])))
    return rows


if __name__ == "__main__":
    main()
