"""Training speed: neppo steps per second on a silicon set (and GPUMD nep generations per
second where a nep executable exists).

The set: ``--structures`` rattled and strained diamond cells of 64 atoms (2x2x2 conventional
cells), labelled with ASE's Tersoff potential (Tersoff 1988, Si(C)). Each backend trains the full
model once through mantid_mdinsim.train.train_nep; the figures are the wall time of the whole
call, the time per step/generation and the resulting test errors.

    python benchmarks/bench_train.py                    # 100 cells, 100 neppo steps
    python benchmarks/bench_train.py --steps 3000       # the issue's 3000-step figure
    python benchmarks/bench_train.py --nep-generations 5000   # also GPUMD's nep, if found
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.calculators.tersoff import Tersoff, TersoffParameters
from ase.io import write

from mantid_mdinsim.external import find_executable
from mantid_mdinsim.train import train_nep

SI_TERSOFF = TersoffParameters(m=3.0, gamma=1.0, lambda3=0.0, c=1.0039e5, d=16.217,
                               h=-0.59825, n=0.78734, beta=1.0999e-6, lambda2=1.7322, B=471.18,
                               R=2.85, D=0.15, lambda1=2.4799, A=1830.8)


def silicon_set(count: int, seed: int, repeat: int = 2) -> list:
    """``count`` diamond Si cells (``repeat``^3 conventional cells of 8 atoms), strained by up
    to 2 % and rattled by 0.1 Angstrom, labelled with Tersoff's Si(C) potential."""
    rng = np.random.default_rng(seed)
    structures = []
    for _ in range(count):
        atoms = bulk("Si", "diamond", 5.431 * (1 + rng.uniform(-0.02, 0.02)), cubic=True)
        atoms = atoms.repeat(repeat)
        atoms.rattle(0.1, seed=int(rng.integers(1 << 30)))
        structures.append(tersoff_labelled(atoms))
    return structures


def tersoff_labelled(atoms):
    """``atoms`` with Tersoff's Si(C) energy, forces and stress stored (a single-point result)."""
    atoms.calc = Tersoff({("Si", "Si", "Si"): SI_TERSOFF})
    results = dict(energy=atoms.get_potential_energy(), forces=atoms.get_forces(),
                   stress=atoms.get_stress())
    atoms.calc = SinglePointCalculator(atoms, **results)
    return atoms


def md_sampled_silicon_set(count: int, seed: int, temperatures_k=(300.0, 600.0),
                           frames_per_run: int = 10, repeat: int = 2) -> list:
    """``count`` 64-atom silicon cells as active learning samples them: Langevin MD at each of
    ``temperatures_k`` in turn (mdinsim's own sampler, ``train.active_learning.langevin_sampler``,
    with the shipped demo NEP, 2 fs steps, one frame every 100 fs after 200 fs of equilibration),
    each run in a cell strained by up to 2 %, labelled with Tersoff's Si(C) potential (as
    :func:`silicon_set`). Frames are 100 fs apart, about one period of the TA modes."""
    from importlib.resources import files

    from mantid_mdinsim.train.active_learning import langevin_sampler

    model = Path(str(files("mantid_mdinsim") / "data" / "Si_demo_NEP4.txt"))
    rng = np.random.default_rng(seed)
    structures: list = []
    run_index = 0
    while len(structures) < count:
        atoms = bulk("Si", "diamond", 5.431 * (1 + rng.uniform(-0.02, 0.02)), cubic=True)
        atoms = atoms.repeat(repeat)
        temperature_k = temperatures_k[run_index % len(temperatures_k)]
        frames = langevin_sampler(atoms, model, temperature_k=temperature_k,
                                  n_steps=50 * (frames_per_run + 2), time_step_fs=2.0,
                                  sample_interval=50, seed=int(rng.integers(1 << 30)))
        for frame in frames[2:]:
            frame.info["temperature_k"] = temperature_k
            structures.append(tersoff_labelled(frame))
        run_index += 1
    return structures[:count]


def rms_force_ev_per_angstrom(structures) -> float:
    """Root mean square of the force components of ``structures`` (eV/Angstrom)."""
    forces = np.concatenate([atoms.get_forces().ravel() for atoms in structures])
    return float(np.sqrt(np.mean(forces ** 2)))


def run(backend: str, folder: Path, steps: int, threads: int, batch: int) -> dict:
    started = time.perf_counter()
    result = train_nep(dict(training_set=[str(folder / "train.xyz")],
                            test_set=[str(folder / "test.xyz")],
                            output_directory=str(folder / backend), backend=backend,
                            generations=steps, batch_size=batch,
                            output_interval=max(1, steps // 10),
                            radial_cutoff_angstrom=5.0, angular_cutoff_angstrom=4.0,
                            threads=threads, seed=1))
    seconds = time.perf_counter() - started
    # neppo logs its own time per step (training alone, without start-up and evaluation)
    log = result.output_directory / "nepmodel_full" / "neppo.log"
    match = re.search(r"([\d.]+) ms per step", log.read_text()) if log.is_file() else None
    return dict(seconds=seconds, per_second=steps / seconds,
                trainer_ms_per_step=float(match.group(1)) if match else float("nan"),
                energy=result.metric("full", "test", "energy_rmse_mev_per_atom"),
                force=result.metric("full", "test", "force_rmse_mev_per_angstrom"),
                force_r2=result.metric("full", "test", "force_r2"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--structures", type=int, default=100)
    parser.add_argument("--steps", type=int, default=100, help="neppo AdamW steps")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=0, help="0: PyTorch's default")
    parser.add_argument("--nep-generations", type=int, default=2000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        started = time.perf_counter()
        structures = silicon_set(args.structures + 10, seed=0)
        write(folder / "train.xyz", structures[:args.structures])
        write(folder / "test.xyz", structures[args.structures:])
        print(f"data: {args.structures} + 10 test cells of 64 Si atoms labelled by Tersoff in "
              f"{time.perf_counter() - started:.1f} s; cores: {os.cpu_count()}")
        figures = run("neppo", folder, args.steps, args.threads, args.batch)
        print(f"neppo: {args.steps} steps (batch {args.batch}) in {figures['seconds']:.1f} s: "
              f"{figures['per_second']:.1f} steps/s, "
              f"{args.batch * figures['per_second']:.0f} structures/s (the trainer alone: "
              f"{figures['trainer_ms_per_step']:.0f} ms per step); test RMSE "
              f"{figures['energy']:.2f} meV/atom, {figures['force']:.1f} meV/A "
              f"(force R^2 {figures['force_r2']:.4f})")
        if find_executable("nep") is not None:
            nep = run("gpumd", folder, args.nep_generations, 0, args.structures)
            print(f"nep:   {args.nep_generations} generations in {nep['seconds']:.1f} s: "
                  f"{nep['per_second']:.1f} generations/s; test RMSE {nep['energy']:.2f} "
                  f"meV/atom, {nep['force']:.1f} meV/A (force R^2 {nep['force_r2']:.4f})")
            print(f"ratio nep generations/s / neppo steps/s: "
                  f"{nep['per_second'] / figures['per_second']:.2f}")
        else:
            print("nep: not found (GPU machines only)")


if __name__ == "__main__":
    main()
