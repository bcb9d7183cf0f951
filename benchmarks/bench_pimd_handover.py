"""Classical NVE production after a PIMD equilibration, with and without the classical
thermalisation between them (issue 18; DEVELOPERS.md, "PIMD then classical production").

    .venv/bin/python benchmarks/bench_pimd_handover.py [--beads 8] [--temperature 300]

Si, 64 atoms (2 x 2 x 2 conventional cells), the published Si NEP, i-PI on CPU: PIMD NVT
0.2 ps, then 0.4 ps of NVE, once as the protocol runs it (Langevin NVT of 5 thermostat
times in between) and once with the thermalisation switched off (the hand-over before the
fix: i-PI's contraction to one bead leaves the momenta at 1/P of the thermal kinetic energy).
Prints the first production temperatures, the production mean against the target and its
statistical error for one NVE run (T / sqrt(3N - 3): the run's energy is one canonical draw),
wall and processor time. Figures are not timings; the load does not change them.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT.parent / "shared" / "data" / "nep" / "Si_2022_NEP4_3body.txt"


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(folder: Path, beads: int, temperature_k: float, thermalise: bool) -> None:
    from ase.build import bulk
    from ase.io import write

    from mantid_mdinsim.md import protocol, read_thermo_csv, run_md

    structure = folder / "si.xyz"
    write(structure, bulk("Si", "diamond", a=5.43, cubic=True), format="extxyz")
    saved = protocol.THERMALISATION_THERMOSTAT_TIMES
    if not thermalise:
        protocol.THERMALISATION_THERMOSTAT_TIMES = 0.0  # no thermalisation steps
    wall, cpu = time.perf_counter(), _cpu_s()
    try:
        result = run_md(structure=str(structure), model=str(MODEL), supercell=[2, 2, 2],
                        output_dir=str(folder / "runs"), temperature_k=[temperature_k],
                        time_step_fs=1.0, equilibration="pimd_nvt", production="nve",
                        number_of_beads=beads, equilibration_time_ps=0.2,
                        production_time_ps=0.4, dump_interval_fs=5.0, thermo_interval_fs=1.0,
                        backend="cpu", processes=1, seed=3)
    finally:
        protocol.THERMALISATION_THERMOSTAT_TIMES = saved
    wall, cpu = time.perf_counter() - wall, _cpu_s() - cpu
    thermo = read_thermo_csv(result.runs[0]["thermo_path"])
    production = thermo["temperature_k"][thermo["phase"] == "production"]
    sigma = temperature_k / np.sqrt(3 * 64 - 3)
    mean = production.mean()
    label = "with thermalisation" if thermalise else "without (before issue 18)"
    print(f"{label}: thermalisation {result.protocol.thermalisation_steps} steps; production "
          f"first rows {np.round(production[:3], 1).tolist()} K, mean {mean:.1f} K against "
          f"{temperature_k:g} K ({mean / temperature_k:.3f} T; {(mean - temperature_k) / sigma:+.1f}"
          f" sigma, sigma = {sigma:.1f} K); wall {wall:.0f} s, processor {cpu:.0f} s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--beads", type=int, default=8)
    parser.add_argument("--temperature", type=float, default=300.0)
    args = parser.parse_args(argv)
    print(f"Si 64 atoms, {args.beads} beads, {args.temperature:g} K; expected without: "
          f"about (1/P + 1)/2 = {(1 / args.beads + 1) / 2:.3f} T")
    for thermalise in (False, True):
        with tempfile.TemporaryDirectory() as folder:
            run(Path(folder), args.beads, args.temperature, thermalise)
    return 0


if __name__ == "__main__":
    sys.exit(main())
