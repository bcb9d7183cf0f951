"""Path-integral MD of crystalline benzene on CPU (i-PI + the shipped NEP): speed and bead
convergence at 127 K (the paper's temperature; examples/README.md, "Benzene at TOSCA").

    .venv/bin/python benchmarks/bench_pimd.py speed [--beads 8] [--steps 40 240]
    .venv/bin/python benchmarks/bench_pimd.py beads [--beads 2 4 8 16] [--harmonic-only]
    .venv/bin/python benchmarks/bench_pimd.py eos

``speed``: i-PI PIMD NPT of the 96-atom cell (2 x 1 x 1) with the NEP in i-PI's process
(``ffdirect``, one force process, ``--processes 1``) and with two socket clients
(``--processes 2``); each run twice, with the first and the second number of steps, so that the
difference is the cost of the steps alone (start-up, imports, the classical thermalisation
and the short production phase cancel): steps per second, wall and processor time (user + system of this process and its
children) per step. Beside them one CPUNEP evaluation of the same cell (the floor: beads x
that per step).

``beads``: for each bead count a PIMD equilibration, NVT in the reference cell (default) or
NPT at 0 GPa (isotropic barostat, ``--ensemble npt``), then the mean volume and
centroid-virial kinetic energy over its second half, beside the quantum
kinetic energy of the harmonic ring polymer with the model's Gamma-point frequencies of the
48-atom cell (Ceriotti et al., J. Chem. Phys. 133, 124104 (2010); the reference of
tests/md/test_pimd.py), its P -> infinity limit and the classical value, and the reference
(GFN1-xTB) cell volume.

``pressure CHECKPOINT``: the model's and GFN1-xTB's configurational pressure on the beads of
an i-PI checkpoint (a PIMD NPT run's ``sim.checkpoint``): whether the reference method would
hold the model's NPT cell.

``eos``: the energy of the shipped model and of GFN1-xTB (tblite) along the rigid-molecule
path of the cell (molecules moved whole with their centres), and each one's minimum: what the
NPT volume follows. Runs with ``nice -n 19`` and one thread are what the figures in
examples/README.md used.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "examples" / "benzene_model" / "benzene_gfn1xtb_NEP4.txt"
STRUCTURE = ROOT / "examples" / "benzene_model" / "benzene_pbca_gfn1xtb.xyz"
TEMPERATURE_K = 127.0
TIME_STEP_FS = 0.5


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _supercell(folder: Path) -> Path:
    import ase.io

    path = folder / "benzene_2x1x1.xyz"
    ase.io.write(path, ase.io.read(STRUCTURE).repeat((2, 1, 1)), format="extxyz")
    return path


def pimd_run(folder: Path, structure: Path, beads: int, equilibration_ps: float,
             processes: int, barostat_fs: float, ensemble: str = "npt"
             ) -> tuple[dict, float, float]:
    from mantid_mdinsim.md import read_thermo_csv, run_md

    barostat = (dict(barostat_coupling_fs=barostat_fs, pressure_gpa=0.0)
                if ensemble == "npt" else {})
    wall, cpu = time.perf_counter(), _cpu_s()
    result = run_md(structure=str(structure), model=str(MODEL), output_dir=str(folder),
                    temperature_k=[TEMPERATURE_K], time_step_fs=TIME_STEP_FS,
                    equilibration=f"pimd_{ensemble}", production="nve", number_of_beads=beads,
                    equilibration_time_ps=equilibration_ps, production_time_ps=0.006,
                    dump_interval_fs=3.0, backend="cpu", processes=processes,
                    max_frequency_mev=420.0, seed=7, **barostat)
    wall, cpu = time.perf_counter() - wall, _cpu_s() - cpu
    return read_thermo_csv(result.runs[0]["thermo_path"]), wall, cpu


def nep_call_cpu_ms(structure: Path, repeats: int = 30) -> float:
    import ase.io

    from mantid_mdinsim.atomistic import calorine_loading  # noqa: F401
    from calorine.calculators import CPUNEP

    atoms = ase.io.read(structure)
    atoms.calc = CPUNEP(str(MODEL))
    atoms.get_forces()
    rng = np.random.default_rng(0)
    start = time.process_time()
    for _ in range(repeats):
        atoms.positions += 1e-3 * rng.standard_normal(atoms.positions.shape)
        atoms.get_stress()
    return (time.process_time() - start) / repeats * 1e3


def speed(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        structure = _supercell(folder)
        floor_ms = nep_call_cpu_ms(structure)
        print(f"CPUNEP, 96 atoms: {floor_ms:.1f} processor-ms per evaluation "
              f"(x {args.beads} beads = {floor_ms * args.beads / 1e3:.3f} s per step)")
        for processes in args.processes:
            times = []
            for steps in args.steps:
                _, wall, cpu = pimd_run(folder / f"p{processes}_{steps}", structure,
                                        args.beads, steps * TIME_STEP_FS / 1000.0, processes,
                                        1000.0)
                times.append((wall, cpu))
            extra = args.steps[1] - args.steps[0]
            wall = (times[1][0] - times[0][0]) / extra
            cpu = (times[1][1] - times[0][1]) / extra
            kind = "ffdirect (NEP in i-PI's process)" if processes == 1 else \
                f"ffsocket, {processes} clients"
            print(f"{kind}, {args.beads} beads: {1 / wall:.2f} steps/s, {wall:.3f} s wall and "
                  f"{cpu:.3f} processor-s per step; whole runs {args.steps[0]} / "
                  f"{args.steps[1]} steps: {times[0][0]:.1f} / {times[1][0]:.1f} s wall")


def harmonic_kinetic_energy_ev(beads_list, temperature_k: float) -> dict:
    """The ring polymer's quantum kinetic energy per atom (meV) in the harmonic model of the
    48-atom cell, by bead count, with the infinite-bead and classical limits."""
    import ase.io
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms

    from mantid_mdinsim.atomistic import calorine_loading  # noqa: F401
    from calorine.calculators import CPUNEP
    from mantid_mdinsim.atomistic.forces import displacement_forces
    from mantid_mdinsim.units import HBAR_MEV_FS, KB_MEV_PER_K, MEV_PER_THZ

    cell = ase.io.read(STRUCTURE)
    unit = PhonopyAtoms(symbols=cell.get_chemical_symbols(), cell=np.array(cell.cell),
                        scaled_positions=cell.get_scaled_positions())
    phonon = Phonopy(unit, supercell_matrix=np.eye(3, dtype=int), primitive_matrix="P")
    phonon.generate_displacements(distance=0.01)
    phonon.forces = displacement_forces(phonon.supercells_with_displacements,
                                        CPUNEP(str(MODEL)))
    phonon.produce_force_constants()
    phonon.run_qpoints([[0, 0, 0]])
    energies = np.abs(phonon.qpoints.frequencies[0]) * MEV_PER_THZ
    kt = KB_MEV_PER_K * temperature_k
    modes = energies[energies > 1.0]
    n_free = len(energies) - len(modes)
    n_atoms = len(cell)

    def per_mode(beads: int) -> np.ndarray:
        omega = modes / HBAR_MEV_FS
        omega_k = 2 * beads * kt / HBAR_MEV_FS * np.sin(np.pi * np.arange(beads) / beads)
        return 0.5 * kt * np.sum(omega[:, None]**2 / (omega[:, None]**2 + omega_k**2), axis=1)

    def per_atom(beads: int) -> float:
        return (per_mode(beads).sum() + 0.5 * kt * n_free) / n_atoms

    exact_by_mode = 0.25 * modes / np.tanh(modes / (2 * kt))
    exact = (exact_by_mode.sum() + 0.5 * kt * n_free) / n_atoms
    # The share of the quantum excess over kT/2 per mode that P beads hold, by band: the
    # lattice modes (what the volume depends on most), TOSCA's window, the C-H stretches.
    bands = {"below 25 meV": modes < 25, "25-200 meV": (modes >= 25) & (modes < 200),
             "above 200 meV": modes >= 200}
    captured = {int(b): {name: float((per_mode(int(b))[mask] - 0.5 * kt).sum()
                                     / (exact_by_mode[mask] - 0.5 * kt).sum())
                         for name, mask in bands.items()} for b in beads_list}
    return {"by_beads_mev_per_atom": {int(b): per_atom(int(b)) for b in beads_list},
            "quantum_excess_captured_by_band": captured,
            "quantum_mev_per_atom": float(exact), "classical_mev_per_atom": 1.5 * kt}


def beads(args) -> None:
    import ase.io

    reference_volume = ase.io.read(STRUCTURE).get_volume() * 2
    harmonic = harmonic_kinetic_energy_ev(args.beads, TEMPERATURE_K)
    print(f"harmonic ring polymer (model's Gamma modes, 48 atoms), kinetic energy per atom: "
          f"classical {harmonic['classical_mev_per_atom']:.2f} meV, quantum "
          f"{harmonic['quantum_mev_per_atom']:.2f} meV")
    for count in args.beads:
        shares = harmonic["quantum_excess_captured_by_band"][count]
        print(f"  {count} beads: {harmonic['by_beads_mev_per_atom'][count]:.2f} meV per atom; "
              "share of the quantum excess held, by band: "
              + ", ".join(f"{name} {100 * share:.0f} %" for name, share in shares.items()))
    if args.harmonic_only:
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        structure = _supercell(Path(tmp))
        for count in args.beads:
            thermo, wall, cpu = pimd_run(Path(tmp) / f"beads_{count}", structure, count,
                                         args.equilibration_ps, 1, args.barostat_fs,
                                         args.ensemble)
            equilibration = thermo["phase"] == "equilibration"
            half = np.flatnonzero(equilibration)
            half = half[len(half) // 2:]
            volume = thermo["volume_angstrom3"][half]
            kinetic = thermo["kinetic_energy_ev"][half] * 1000.0 / 96
            row = {"beads": count, "volume_angstrom3": float(volume.mean()),
                   "volume_sd_angstrom3": float(volume.std()),
                   "volume_vs_reference_percent": float(100 * (volume.mean() / reference_volume
                                                               - 1)),
                   "kinetic_mev_per_atom": float(kinetic.mean()),
                   "kinetic_harmonic_mev_per_atom": harmonic["by_beads_mev_per_atom"][count],
                   "wall_s": wall, "cpu_s": cpu,
                   "steps_per_s": args.equilibration_ps * 1000 / TIME_STEP_FS / wall}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"reference cell (GFN1-xTB relaxed, 2 x 1 x 1): {reference_volume:.1f} Angstrom^3")
    print("| beads | volume (A^3) | vs reference | kinetic, PIMD (meV/atom) | harmonic RP "
          "(meV/atom) | wall (s) | processor (s) |")
    for row in rows:
        print(f"| {row['beads']} | {row['volume_angstrom3']:.1f} +- "
              f"{row['volume_sd_angstrom3']:.1f} | {row['volume_vs_reference_percent']:+.1f} % "
              f"| {row['kinetic_mev_per_atom']:.1f} | {row['kinetic_harmonic_mev_per_atom']:.1f} "
              f"| {row['wall_s']:.0f} | {row['cpu_s']:.0f} |")


def _recipe_and_calculators(model: Path):
    """The benzene recipe (examples/benzene_tosca_train.py) as a module, and the calculators
    compared: the NEP ``model`` and the recipe's GFN1-xTB."""
    import importlib.util

    from mantid_mdinsim.atomistic import calorine_loading  # noqa: F401
    from calorine.calculators import CPUNEP

    spec = importlib.util.spec_from_file_location(
        "benzene_tosca_train", ROOT / "examples" / "benzene_tosca_train.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    return recipe, {"NEP": CPUNEP(str(model)), "GFN1-xTB": recipe.reference_calculator()}


def eos(args) -> None:
    """The model's and GFN1-xTB's energy along the rigid-molecule path of the cell (the
    recipe's :func:`rigid_lattice_scaled`), with the stress-free pressure of each."""
    import ase.io

    recipe, calculators = _recipe_and_calculators(args.model)
    factors = list(args.factors or recipe.EOS_FACTORS)
    structure = ase.io.read(STRUCTURE)
    energies = {name: recipe.lattice_equation_of_state(structure, calculator, factors)
                for name, calculator in calculators.items()}
    print("| cell factor | volume (A^3, 48 atoms) | "
          + " | ".join(f"{name} E - E(1) (meV/molecule)" for name in energies) + " |")
    for k, factor in enumerate(factors):
        volume = structure.get_volume() * factor**3
        print(f"| {factor:.2f} | {volume:.1f} | " + " | ".join(
            f"{1000 * (e[k] - e[factors.index(1.0)]) / 4:+.1f}" for e in energies.values())
            + " |")
    for name, values in energies.items():
        minimum = recipe.equation_of_state_minimum(factors, values)
        print(f"{name}: minimum at factor {minimum:.3f} (volume {100 * (minimum**3 - 1):+.1f} %)")


def _ipi_array(text: str, tag: str, start: int) -> np.ndarray:
    """The first ``<tag shape='(...)'> [ ... ] </tag>`` array of an i-PI checkpoint after
    ``start``, as strings in that shape."""
    import re

    match = re.search(rf"<{tag} shape='\(([^)]*)\)'>(.*?)</{tag}>", text[start:], re.S)
    shape = tuple(int(x) for x in match.group(1).split(",") if x.strip())
    words = match.group(2).replace("[", " ").replace("]", " ").replace(",", " ").split()
    return np.array(words, dtype=object).reshape(shape)


def pressure(args) -> None:
    """The configurational pressure of the model and of GFN1-xTB on the bead configurations of
    an i-PI checkpoint (e.g. a PIMD NPT equilibration's ``sim.checkpoint``): whether the
    reference method would hold the model's NPT cell (examples/README.md, "Cohesion")."""
    from ase import Atoms
    from ase.units import GPa, Bohr

    _, calculators = _recipe_and_calculators(args.model)
    text = args.checkpoint.read_text()
    beads_at = text.index("<beads")
    positions = _ipi_array(text, "q", beads_at).astype(float) * Bohr
    names = [name.strip() for name in _ipi_array(text, "names", beads_at)]
    # i-PI stores the cell vectors as columns, in Bohr
    cell = _ipi_array(text, "cell", text.index("<cell")).astype(float).T * Bohr
    rows = []
    for bead in positions:
        atoms = Atoms(names, positions=bead.reshape(-1, 3), cell=cell, pbc=True)
        row = []
        for calculator in calculators.values():
            atoms.calc = calculator
            row.append(-np.trace(atoms.get_stress(voigt=False)) / 3 / GPa)
        rows.append(row)
    rows = np.array(rows)
    difference = rows[:, 1] - rows[:, 0]
    print(f"cell volume {abs(np.linalg.det(cell)):.1f} Angstrom^3, {len(rows)} beads; "
          f"configurational pressure (GPa): NEP {rows[:, 0].mean():.3f}, GFN1-xTB "
          f"{rows[:, 1].mean():.3f}, GFN1-xTB - NEP {difference.mean():+.3f} +- "
          f"{difference.std(ddof=1) / np.sqrt(len(rows)):.3f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    one = sub.add_parser("speed")
    one.add_argument("--beads", type=int, default=8)
    one.add_argument("--steps", type=int, nargs=2, default=[40, 240])
    one.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    two = sub.add_parser("beads")
    two.add_argument("--beads", type=int, nargs="+", default=[2, 4, 8, 16])
    two.add_argument("--equilibration-ps", type=float, default=0.5)
    two.add_argument("--barostat-fs", type=float, default=200.0)
    two.add_argument("--harmonic-only", action="store_true",
                     help="only the harmonic ring polymer's convergence (seconds)")
    two.add_argument("--ensemble", choices=("nvt", "npt"), default="nvt",
                     help="nvt: in the reference cell (the kinetic energy against the "
                          "harmonic ring polymer of that cell); npt: at 0 GPa (the volume)")
    three = sub.add_parser("eos")
    three.add_argument("--factors", type=float, nargs="+",
                       help="cell length factors, 1.0 among them (default: the recipe's "
                            "EOS_FACTORS, those of metrics.json)")
    three.add_argument("--model", type=Path, default=MODEL,
                       help="NEP to check (default: the shipped one)")
    four = sub.add_parser("pressure")
    four.add_argument("checkpoint", type=Path, help="an i-PI checkpoint (sim.checkpoint)")
    four.add_argument("--model", type=Path, default=MODEL)
    args = parser.parse_args(argv)
    {"speed": speed, "beads": beads, "eos": eos, "pressure": pressure}[args.what](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
