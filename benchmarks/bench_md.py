"""MD speed: atom-steps per processor second of the CPU backend against calorine's CPUNEP in a
bare ASE velocity-Verlet loop (the floor: the backend no slower, apart from writing its frames
and thermo rows), and GPUMD (per wall second) where a gpumd executable exists.

    python benchmarks/bench_md.py                          # 216 Si atoms, 400 steps
    python benchmarks/bench_md.py --repeat 4 --steps 1000  # larger and longer
    python benchmarks/bench_md.py --gpumd-repeat 20        # also GPUMD (8000 atoms), if found

The CPU backend runs ``run_md`` with ``equilibration=none`` and NVE production, dumping a frame
and a thermo row every 10 steps (as a production run does), on one process; the bare loop is
``VelocityVerlet(atoms).run(steps)`` with CPUNEP attached. Both use the published Si NEP
(``../shared/data/nep/Si_2022_NEP4_3body.txt`` unless ``--model`` is given).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

DEFAULT_MODEL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nep" / \
    "Si_2022_NEP4_3body.txt"


def bare_loop(model: str, repeat: int, steps: int) -> float:
    """atom-steps per processor second of CPUNEP in ASE's VelocityVerlet, nothing else
    (processor time, so that other work on a busy machine does not distort the ratio)."""
    from ase import units
    from ase.build import bulk
    from ase.md.velocitydistribution import Stationary

    try:
        from ase.md.velocitydistribution import thermalize_momenta
    except ImportError:  # ASE < 3.29
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta
    from ase.md.verlet import VelocityVerlet
    from calorine.calculators import CPUNEP

    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(repeat)
    atoms.calc = CPUNEP(model)
    thermalize_momenta(atoms, temperature_K=300, rng=np.random.default_rng(1))
    Stationary(atoms)
    dynamics = VelocityVerlet(atoms, timestep=2.0 * units.fs)
    atoms.get_forces()
    started = time.process_time()
    dynamics.run(steps)
    return len(atoms) * steps / (time.process_time() - started)


def backend(model: str, repeat: int, steps: int, folder: Path, name: str = "cpu",
            gpumd: str | None = None) -> float:
    """atom-steps per processor second of mdinsim's backend (from the run's own timing; GPUMD:
    per wall second, as gpumd runs in another process)."""
    from ase.build import bulk
    from ase.io import write

    from mantid_mdinsim.md import run_md

    structure = folder / "si.xyz"
    write(structure, bulk("Si", "diamond", a=5.43, cubic=True), format="extxyz")
    result = run_md(structure=str(structure), model=model, output_dir=str(folder / name),
                    temperature_k=[300.0], supercell=[repeat] * 3, time_step_fs=2.0,
                    equilibration="none", production_time_ps=steps * 2.0 / 1000.0,
                    dump_interval_fs=20.0, max_frequency_mev=65.0, processes=1,
                    backend="gpumd" if gpumd else "cpu", gpumd_executable=gpumd)
    timings = result.runs[0]["timings"]
    return timings.get("atom_steps_per_cpu_s") or timings["atom_steps_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--repeat", type=int, default=3, help="conventional cells per side")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--gpumd-repeat", type=int, default=20)
    parser.add_argument("--gpumd-steps", type=int, default=2000)
    parser.add_argument("--trials", type=int, default=3,
                        help="interleaved trials of each; the best of each is reported")
    args = parser.parse_args()
    n_atoms = 8 * args.repeat**3
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        bare_rates, our_rates = [], []
        for trial in range(args.trials):   # interleaved, so that machine load hits both alike
            bare_rates.append(bare_loop(args.model, args.repeat, args.steps))
            our_rates.append(backend(args.model, args.repeat, args.steps, folder,
                                     name=f"cpu{trial}"))
        bare, ours = max(bare_rates), max(our_rates)
        print(f"{n_atoms} Si atoms, {args.steps} NVE steps of 2 fs, one core, best of "
              f"{args.trials}")
        print(f"  bare ASE VelocityVerlet + CPUNEP : {bare:10.3g} atom-steps/cpu-s")
        print(f"  mdinsim CPU backend (run_md)     : {ours:10.3g} atom-steps/cpu-s "
              f"(frame + thermo row every 10 steps)")
        print(f"  ratio backend / bare             : {ours / bare:10.3f}  (floor: 1, less the output cost)")
        from mantid_mdinsim.external import find_executable

        gpumd = find_executable("gpumd")
        if gpumd is None:
            print("  GPUMD: no gpumd executable found; skipped")
            return
        rate = backend(args.model, args.gpumd_repeat, args.gpumd_steps, folder, "gpumd",
                       str(gpumd))
        print(f"  GPUMD ({8 * args.gpumd_repeat**3} atoms, {args.gpumd_steps} steps, "
              f"dump every 10)  : {rate:10.3g} atom-steps/s  ({rate / bare:.0f} x the CPU "
              "loop)")


if __name__ == "__main__":
    main()
