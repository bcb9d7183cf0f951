"""Time to accuracy of ``mdinsim train`` with its CPU (neppo) defaults.

The issue's case: about 100 cells of 64 atoms on two cores, to be trained in under 5 minutes to
energies within a few meV/atom and forces within about 100 meV/Angstrom. Data: rattled and
strained 64-atom diamond silicon cells labelled with ASE's Tersoff potential (as
``bench_train.py``), 100 to train and 20 held out. The training uses only the defaults (cutoffs,
batch, steps, early stopping) plus ``--time-budget-minutes`` if given, and prints the wall time
of the whole call, where the training stopped, the held-out errors and their ratio to the
targets, with the CPU time of the training and the held-out errors at every report of the loss
curve (steps, so that runs on a loaded machine can be judged by errors reached per step).

    python benchmarks/bench_train_time_to_accuracy.py
    python benchmarks/bench_train_time_to_accuracy.py --time-budget-minutes 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from ase.io import write

from bench_train import silicon_set
from mantid_mdinsim.train import train_nep

TARGET_SECONDS = 300.0
TARGET_ENERGY_MEV_PER_ATOM = 3.0
TARGET_FORCE_MEV_PER_ANGSTROM = 100.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--structures", type=int, default=100)
    parser.add_argument("--time-budget-minutes", type=float, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        structures = silicon_set(args.structures + 20, seed=0)
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
    energy = result.metric("full", "test", "energy_rmse_mev_per_atom")
    force = result.metric("full", "test", "force_rmse_mev_per_angstrom")
    print(f"{args.structures} training + 20 test cells of 64 Si atoms, {os.cpu_count()} cores, "
          f"neppo defaults" + (f", budget {args.time_budget_minutes} min"
                               if args.time_budget_minutes else ""))
    print(f"wall time {seconds:.0f} s (target {TARGET_SECONDS:.0f} s, ratio "
          f"{seconds / TARGET_SECONDS:.2f}); {done.get('stopped_early') or 'all steps run'}")
    steps = curve[-1][0] if curve else 0
    print(f"training processes' CPU time {cpu_seconds:.0f} s over {steps} steps "
          f"({1e3 * cpu_seconds / max(steps, 1):.0f} CPU ms per step, evaluation included)")
    print("held-out RMSE at each report: step, energy meV/atom, force meV/Angstrom")
    for step, energy_mev, force_mev in curve:
        print(f"  {step:6d} {energy_mev:8.2f} {force_mev:8.1f}")
    print(f"test RMSE: energy {energy:.2f} meV/atom (ratio to {TARGET_ENERGY_MEV_PER_ATOM:g}: "
          f"{energy / TARGET_ENERGY_MEV_PER_ATOM:.2f}), force {force:.1f} meV/Angstrom "
          f"(ratio to {TARGET_FORCE_MEV_PER_ANGSTROM:g}: "
          f"{force / TARGET_FORCE_MEV_PER_ANGSTROM:.2f})")


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
