"""The catalogue of bad inputs (issue 14): each case is an input a user may give and what it must
end in, a clear error (exit status 2, a message naming the file or parameter, what is wrong and
the fix, no traceback) or a correct result. ``CLI_ERRORS`` run the ``mdinsim`` command in this
process; ``test_*`` functions below the table cover what needs more than a command line (disk
full, a subprocess for native crashes, the Python API, results checked against references).

Cases that need the Si NEP model of ../shared/data skip where it is absent.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from mantid_mdinsim.cli import main
from mantid_mdinsim.errors import InputFileError, OutputWriteError, ParameterError, PhysicsError

from .sqw.harmonic import HarmonicCrystal, write_extxyz

FRAMES = 12
N_ATOMS = 27
SQW = ["--time-step-fs", "10", "--window", "4", "--q-max", "2.5", "--q-count", "20"]
SI_MODEL = "nep/Si_2022_NEP4_3body.txt"
SHORT_MD = ["--temperature", "300", "--backend", "cpu", "--max-frequency-mev", "70",
            "--equilibration-time-ps", "0.05", "--production-time-ps", "0.05",
            "--dump-interval-fs", "10"]


# -- inputs shared by the cases ------------------------------------------------------------------
class Inputs:
    """Files the cases spoil, made once per module."""

    def __init__(self, folder: Path):
        self.folder = folder
        crystal = HarmonicCrystal(cells=3, temperature_k=100.0, species=["Si"] * N_ATOMS)
        self.trajectory = write_extxyz(folder / "good.xyz", crystal.positions(
            np.arange(FRAMES) * 10.0), crystal.cell, crystal.species, time_step_fs=10.0)
        self.lines = self.trajectory.read_text().splitlines(keepends=True)
        self.copy = folder / "copy.xyz"
        self.copy.write_text(self.trajectory.read_text())
        self.sqw = folder / "sqw.nxs"
        assert main(["sqw", str(self.trajectory), "--time-step-fs", "10", "--window", "4",
                     "--q-max", "6", "--q-count", "100", "--output", str(self.sqw)]) == 0
        self.instrument_output = folder / "arcs.nxs"
        assert main(["instrument", str(self.sqw), "--instrument", "ARCS", "--ei", "100",
                     "--temperature", "300", "--output", str(self.instrument_output)]) == 0
        self.a_file = folder / "a_file"
        self.a_file.write_text("not a folder\n")
        self.a_folder = folder / "a_folder"
        self.a_folder.mkdir()
        self.summary_300k = folder / "summary_300K.json"
        self.summary_300k.write_text(json.dumps({
            "temperatures": {"300": {"mean_squared_displacement_angstrom2": 0.02}},
            "mean_squared_displacement_angstrom2": 0.02}))

    def frames(self, *indices: int) -> list[str]:
        """The lines of the given frames, in the given order."""
        per_frame = N_ATOMS + 2
        return [line for i in indices for line in self.lines[i * per_frame:(i + 1) * per_frame]]

    def write(self, name: str, lines: list[str] | str | bytes) -> str:
        path = self.folder / name
        if isinstance(lines, bytes):
            path.write_bytes(lines)
        else:
            path.write_text(lines if isinstance(lines, str) else "".join(lines))
        return str(path)

    def structure(self, name: str, change: Callable | None = None) -> str:
        from ase.build import bulk
        from ase.io import write

        atoms = bulk("Si", "diamond", a=5.43, cubic=True)
        if change is not None:
            change(atoms)
        path = self.folder / name
        write(path, atoms, format="extxyz")
        return str(path)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Inputs:
    return Inputs(tmp_path_factory.mktemp("catalogue"))


def _nan_atom(atoms):
    positions = atoms.get_positions()
    positions[2, 1] = np.nan
    atoms.set_positions(positions)


def _overlap(distance):
    def change(atoms):
        positions = atoms.get_positions()
        positions[1] = positions[0] + [distance, 0.0, 0.0]
        atoms.set_positions(positions)
    return change


def _lammps_repeated_timestep(inputs: Inputs) -> str:
    """A LAMMPS dump of the good frames whose fourth frame repeats the third's TIMESTEP."""
    text = []
    per_frame = N_ATOMS + 2
    for frame in range(FRAMES):
        atoms = inputs.lines[frame * per_frame + 2:(frame + 1) * per_frame]
        step = 10 * frame if frame != 3 else 20
        text += ["ITEM: TIMESTEP\n", f"{step}\n", "ITEM: NUMBER OF ATOMS\n", f"{N_ATOMS}\n",
                 "ITEM: BOX BOUNDS pp pp pp\n", "0 9\n", "0 9\n", "0 9\n",
                 "ITEM: ATOMS id element x y z\n"]
        text += [f"{i + 1} {line}" for i, line in enumerate(atoms)]
    return inputs.write("repeat.lammpstrj", text)


def _compressed(inputs: Inputs, name: str, program: str) -> str:
    """The good trajectory compressed by ``program`` (gzip, xz: Python's own modules) into
    ``name``."""
    import gzip
    import lzma

    module = {"gzip": gzip, "xz": lzma}[program]
    return inputs.write(name, module.compress(inputs.trajectory.read_bytes()))


def _training_set(inputs: Inputs) -> str:
    """Four rattled Si cells with energies and forces (values need not be right: the cases
    using it stop at validation)."""
    from ase.build import bulk
    from ase.io import write

    frames = []
    for seed in range(4):
        atoms = bulk("Si", "diamond", a=5.43, cubic=True)
        atoms.rattle(0.05, seed=seed)
        atoms.info["energy"] = -5.4 * len(atoms) + 0.01 * seed
        atoms.arrays["forces"] = np.full((len(atoms), 3), 0.01 * seed)
        frames.append(atoms)
    path = inputs.folder / "train.xyz"
    write(path, frames, format="extxyz", write_results=False)
    return str(path)


def _damaged_model(inputs: Inputs, line: int, word: str) -> str:
    """The shipped demo NEP model with line ``line`` (1-based) replaced by ``word``."""
    from mantid_mdinsim.predict.demos import SILICON_MODEL

    lines = SILICON_MODEL.read_text().splitlines(keepends=True)
    lines[line - 1] = word + "\n"
    return inputs.write("damaged_nep.txt", lines)


def _nan_frame(inputs: Inputs) -> list[str]:
    lines = list(inputs.lines)
    index = 5 * (N_ATOMS + 2) + 2 + 3
    lines[index] = "Si nan 0.0 0.0\n"
    return lines


# -- the catalogue of command-line errors ---------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """A command line built from the inputs, and the parts its error message must hold."""

    id: str
    argv: Callable[[Inputs], list[str]]
    expected: tuple[str, ...]
    needs_model: bool = False


def _sqw(trajectories: Callable[[Inputs], list[str]], *extra: str, output: str | None = None):
    def argv(inputs: Inputs) -> list[str]:
        out = output if output is not None else str(inputs.folder / "out.nxs")
        return ["sqw", *trajectories(inputs), *SQW, *extra, "--output", out.format(
            folder=inputs.a_folder, file=inputs.a_file, copy=inputs.copy)]
    return argv


def _md(structure: Callable[[Inputs], str], *extra: str, output: str = "md"):
    def argv(inputs: Inputs) -> list[str]:
        return ["md", structure(inputs), "--model", str(inputs.model), *SHORT_MD, *extra,
                "--output-dir", output.format(folder=inputs.folder, file=inputs.a_file)]
    return argv


def _harmonic(structure: Callable[[Inputs], str], *extra: str):
    def argv(inputs: Inputs) -> list[str]:
        return ["harmonic", structure(inputs), "--model", str(inputs.model), *extra,
                "--output", str(inputs.folder / "harmonic.nxs")]
    return argv


def _instrument(source: Callable[[Inputs], str], *extra: str, output: str | None = None):
    def argv(inputs: Inputs) -> list[str]:
        out = output if output is not None else str(inputs.folder / "instrument.nxs")
        return ["instrument", source(inputs), "--instrument", "ARCS", "--ei", "100",
                *extra, "--output", out.format(folder=inputs.a_folder, file=inputs.a_file,
                                               sqw=inputs.sqw)]
    return argv


GOOD = lambda i: [str(i.trajectory)]  # noqa: E731

CLI_ERRORS = [
    # output paths, checked before any computation
    Case("sqw-output-is-a-folder", _sqw(GOOD, output="{folder}"),
         ("--output:", "is a folder", "give a file name")),
    Case("sqw-output-under-a-file", _sqw(GOOD, output="{file}/sqw.nxs"),
         ("--output:", "is a file, so no file can be made under it")),
    Case("sqw-output-in-unwritable-folder", _sqw(GOOD, output="/proc/mdinsim/sqw.nxs"),
         ("--output:", "cannot be written")),
    Case("instrument-output-is-a-folder",
         _instrument(lambda i: str(i.sqw), "--temperature", "300", output="{folder}"),
         ("--output:", "is a folder")),
    Case("md-output-dir-is-a-file", _md(lambda i: i.structure("si.xyz"), output="{file}"),
         ("--output-dir:", "is a file, not a folder"), needs_model=True),
    # finite bounds
    Case("sqw-q-max-inf", _sqw(GOOD, "--q-max", "inf"),
         ("--q-max:", "not a finite number")),
    Case("sqw-q-max-nan", _sqw(GOOD, "--q-max", "nan"), ("--q-max:", "not a valid")),
    Case("instrument-ei-inf", _instrument(lambda i: str(i.sqw), "--ei", "inf"),
         ("--ei:", "not a finite number")),
    Case("md-temperature-inf", _md(lambda i: i.structure("si.xyz"), "--temperature", "inf"),
         ("--temperature:", "not a finite number"), needs_model=True),
    # trajectories: duplicates by content, frames, advice
    Case("sqw-same-trajectory-twice", _sqw(lambda i: [str(i.trajectory)] * 2),
         ("good.xyz", "is given twice", "give each independent run once")),
    Case("sqw-copy-of-a-trajectory", _sqw(lambda i: [str(i.trajectory), str(i.copy)]),
         ("copy.xyz", "has the same content as", "give each independent run once")),
    Case("sqw-single-frame", _sqw(lambda i: [i.write("one.xyz", i.frames(0))]),
         ("one.xyz", "has 1 frame", "needs at least 3 frames", "--dump-interval-fs")),
    Case("sqw-nan-in-a-frame", _sqw(lambda i: [i.write("nan.xyz", _nan_frame(i))]),
         ("nan.xyz", "frame 5", "not a finite number")),
    Case("sqw-frame-repeated", _sqw(lambda i: [i.write("repeat.xyz", i.frames(
        0, 1, 2, 3, 3, 4, 5, 6, 7, 8))]),
        ("repeat.xyz", "frame 4", "repeated frame")),
    Case("sqw-gap-in-time", _sqw(lambda i: [i.write("gap.xyz", i.frames(
        0, 1, 2, 3, 5, 6, 7, 8, 9))]),
        ("gap.xyz", "frame 4", "a gap in time")),
    Case("sqw-time-backwards", _sqw(lambda i: [i.write("back.xyz", i.frames(
        0, 1, 2, 3, 2, 4, 5, 6, 7))]),
        ("back.xyz", "frame 4", "is before that of frame 3")),
    Case("sqw-lammps-repeated-timestep", _sqw(lambda i: [_lammps_repeated_timestep(i)]),
         ("repeat.lammpstrj", "frame 3", "same TIMESTEP (20) as frame 2")),
    Case("sqw-missing-trajectory", _sqw(lambda i: [str(i.folder / "absent.xyz")]),
         ("absent.xyz", "does not exist")),
    Case("sqw-gzipped-trajectory", _sqw(lambda i: [_compressed(i, "good.xyz.gz", "gzip")]),
         ("good.xyz.gz", "is compressed (gzip)", "gzip -dc good.xyz.gz > good.xyz")),
    Case("sqw-trajectory-is-a-folder", _sqw(lambda i: [str(i.a_folder)]),
         ("a_folder", "is a folder, not a trajectory file")),
    Case("sqw-utf16-trajectory", _sqw(lambda i: [i.write("wide.xyz", "".join(
        i.frames(*range(FRAMES))).encode("utf-16"))]),
        ("wide.xyz", "is UTF-16 text", "iconv -f UTF-16 -t UTF-8 wide.xyz > wide-utf8.xyz")),
    Case("sqw-zero-bytes-after-a-crash", _sqw(lambda i: [i.write("crashed.xyz", "".join(
        i.frames(*range(8))).encode() + b"\0" * 5000)]),
        ("crashed.xyz", "frame 8", f"zero bytes from line {8 * (N_ATOMS + 2) + 1} on",
         f"head -n {8 * (N_ATOMS + 2)} crashed.xyz > crashed-cut.xyz")),
    Case("sqw-xz-under-a-plain-name", _sqw(lambda i: [_compressed(i, "packed.xyz", "xz")]),
         ("packed.xyz", "is compressed (xz)", "xz -dc packed.xyz > packed-decompressed.xyz")),
    # provenance
    Case("instrument-applied-twice",
         _instrument(lambda i: str(i.instrument_output), "--temperature", "300"),
         ("arcs.nxs", "is the output of MDApplyInstrument", "--override-provenance")),
    Case("instrument-msd-from-another-temperature",
         _instrument(lambda i: str(i.sqw), "--temperature", "10", "--debye-waller", "remove",
                     "--md-summary", "{summary}"),
         ("summary_300K.json", "holds U from MD at 300 K", "at 10 K",
          "--override-provenance")),
    Case("instrument-missing-input", _instrument(lambda i: str(i.folder / "absent.nxs")),
         ("absent.nxs", "file not found")),
    # structures
    Case("md-nan-coordinate", _md(lambda i: i.structure("nan.xyz", _nan_atom)),
         ("nan.xyz", "atom 2", "not a finite number"), needs_model=True),
    Case("md-overlapping-atoms", _md(lambda i: i.structure("overlap.xyz", _overlap(0.1))),
         ("overlap.xyz", "0.1 Angstrom apart", "--min-atom-distance"), needs_model=True),
    Case("md-cif-without-atoms", _md(lambda i: i.write("cell.cif", "data_x\n_cell_length_a 5.4\n")),
         ("cell.cif", "cannot be read as a structure", "a CIF needs"), needs_model=True),
    Case("md-cif-garbage", _md(lambda i: i.write("garbage.cif", "garbage\n")),
         ("garbage.cif", "cannot be read as a structure", "a CIF needs"), needs_model=True),
    Case("md-cif-without-cell", _md(lambda i: i.write("nocell.cif", textwrap.dedent("""\
        data_x
        _cell_length_a 5.43
        loop_
        _atom_site_label
        _atom_site_fract_x
        _atom_site_fract_y
        _atom_site_fract_z
        Si1 0 0 0
        """))), ("nocell.cif", "no three-dimensional cell"), needs_model=True),
    Case("md-corrupted-checkpoint", _md(lambda i: i.structure("si.xyz"),
                                        output="{folder}/md-checkpoint"),
         ("checkpoint.npz", "is not a readable checkpoint", "delete it"), needs_model=True),
    Case("md-run-folder-is-a-file", _md(lambda i: i.structure("si.xyz"),
                                        output="{folder}/md-file-run"),
         ("run_000", "is a file where a run's folder belongs", "move or delete it"),
         needs_model=True),
    Case("md-overlap-allowed-runs-away",
         _md(lambda i: i.structure("overlap2.xyz", _overlap(0.02)), "--min-atom-distance", "0",
             output="{folder}/md-runaway"),
         ("the run was stopped at step", "the temperature ran away", "Kept:"),
         needs_model=True),
    Case("harmonic-nan-coordinate", _harmonic(lambda i: i.structure("nan.xyz", _nan_atom)),
         ("nan.xyz", "not a finite number"), needs_model=True),
    Case("harmonic-overlapping-atoms",
         _harmonic(lambda i: i.structure("overlap.xyz", _overlap(0.1))),
         ("overlap.xyz", "Angstrom apart"), needs_model=True),
    Case("harmonic-relaxation-collapses-atoms",
         _harmonic(lambda i: i.structure("overlap3.xyz", _overlap(0.3)),
                   "--min-atom-distance", "0.3"),
         ("the relaxation brought atoms 0 and 1", "Angstrom apart"), needs_model=True),
    # found by the QA pass (a new user's inputs, run through the command line)
    Case("sqw-zero-cell", _sqw(lambda i: [i.write("zerocell.xyz", [
        line.replace(line[line.index('Lattice="'):line.index('"', line.index('Lattice="') + 9) + 1],
                     'Lattice="0 0 0 0 0 0 0 0 0"') if "Lattice=" in line else line
        for line in i.lines])]),
        ("zerocell.xyz", "frame 0", "no finite three-dimensional volume", "periodic 3D cell")),
    # found by the reader fuzz test: a cell whose volume overflows (once only a warning)
    Case("sqw-overflowing-cell", _sqw(lambda i: [i.write("hugecell.xyz", [
        line.replace(line[line.index('Lattice="'):line.index('"', line.index('Lattice="') + 9) + 1],
                     'Lattice="1e200 0 0 0 1e200 0 0 0 1e200"') if "Lattice=" in line else line
        for line in i.lines])]),
        ("hugecell.xyz", "frame 0", "no finite three-dimensional volume", "periodic 3D cell")),
    Case("sqw-q-max-beyond-any-scan", _sqw(GOOD, "--q-max", "1e6"),
         ("--q-max:", "reciprocal lattice points", "give a smaller --q-max")),
    Case("md-supercell-too-large", _md(lambda i: i.structure("si.xyz"), "--supercell", "1000",
                                       "1000", "1000"),
         ("--supercell:", "8,000,000,000 atoms", "give fewer repetitions"),
         needs_model=True),
    Case("md-single-atom", _md(lambda i: i.write("one.xyz", "1\nLattice=\"5.43 0 0 0 5.43 0 0 0 "
                                                 "5.43\" Properties=species:S:1:pos:R:3 "
                                                 "pbc=\"T T T\"\nSi 0 0 0\n")),
         ("--supercell:", "gives 1 atom", "--supercell 3 3 3"), needs_model=True),
    Case("sqw-output-is-its-input", _sqw(lambda i: [str(i.copy)], output="{copy}"),
         ("--output:", "is also the input 'trajectories'", "another output file name")),
    Case("instrument-output-is-its-input",
         _instrument(lambda i: str(i.sqw), "--temperature", "300", output="{sqw}"),
         ("--output:", "is also the input", "another output file name")),
    Case("instrument-temperature-beyond-any-md", _instrument(lambda i: str(i.sqw),
                                                             "--temperature", "1e9"),
         ("--temperature:", "out of range", "<= 100000 K")),
    Case("instrument-resolution-model-without-resolution",
         _instrument(lambda i: str(i.sqw), "--temperature", "300", "--resolution", "none",
                     "--resolution-model", "PyChop_fit"),
         ("--resolution-model:", "--resolution none applies no resolution",
          "leave --resolution-model out")),
    Case("instrument-msd-beyond-any-solid",
         _instrument(lambda i: str(i.sqw), "--temperature", "300", "--debye-waller", "apply",
                     "--msd", "1e6"),
         ("--msd:", "U = 1e+06 Angstrom^2",
          "beyond any solid", "check U")),
    Case("sqw-zones-without-q-path", _sqw(GOOD, "--zones", "3"),
         ("--zones:", "no", "give --q-path too, or leave --zones out")),
    Case("sqw-primitive-cell-without-q-path", _sqw(GOOD, "--primitive-cell", "si.cif"),
         ("--primitive-cell:", "give --q-path too")),
    Case("train-empty-uncertainty-window",
         lambda i: ["train", _training_set(i), "--backend", "neppo", "--generations", "2",
                    "--ensemble-size", "2", "--active-learning-generations", "1",
                    "--uncertainty-threshold", "100", "--uncertainty-maximum", "10",
                    "--output-dir", str(i.folder / "train")],
         ("--uncertainty-maximum:", "is not above the threshold 100",
          "give a maximum above the threshold")),
    Case("harmonic-frequency-min-above-every-mode",
         _harmonic(lambda i: i.structure("si.xyz"), "--relax", "none", "--supercell", "1",
                   "--mesh", "2", "2", "2", "--frequency-min", "1e4"),
         ("--frequency-min:", "leaves out every mode", "below the highest mode"),
         needs_model=True),
    Case("harmonic-energy-step-wider-than-range",
         _harmonic(lambda i: i.structure("si.xyz"), "--relax", "none", "--supercell", "1",
                   "--mesh", "2", "2", "2", "--energy-step", "1000"),
         ("--energy-step:", "is wider than the range", "give a step of at most"),
         needs_model=True),
    # found by the messy-input hunt of session 14
    Case("sqw-output-empty", _sqw(GOOD, output=""),
         ("--output:", "the file or folder name is empty", "leave --output out")),
    Case("sqw-q-path-empty-with-zones", _sqw(GOOD, "--q-path", "", "--zones", "3"),
         ("--q-path:", "the value is empty", "give a value")),
    Case("sqw-seed-beyond-64-bit", _sqw(GOOD, "--seed", "99999999999999999999999"),
         ("--seed:", "beyond the whole numbers", "64-bit", "give a smaller number")),
    Case("sqw-window-far-beyond-the-frames", _sqw(GOOD, "--window", "999999999999999999"),
         ("good.xyz", f"has about {FRAMES} frames", "fewer than the window + 1",
          f"use --window {FRAMES - 1} or less")),
    Case("sqw-q-step-too-fine", _sqw(GOOD, "--q-step", "1e-9"),
         ("--q-step:", "shells from", "more than the 100,000", "give --q-step")),
    Case("sqw-q-width-too-fine-as-the-step", _sqw(GOOD, "--q-width", "1e-300"),
         ("--q-width:", "e+300 shells", "without it the step is --q-width")),
    Case("harmonic-model-with-nan", lambda i: [
        "harmonic", i.structure("si.xyz"), "--model", _damaged_model(i, 100, "nan"),
        "--relax", "none", "--output", str(i.folder / "harmonic.nxs")],
        ("damaged_nep.txt, line 100:", "'nan' is not a finite number",
         "train the model again")),
    Case("md-model-with-overflowing-number", lambda i: [
        "md", i.structure("si.xyz"), "--model", _damaged_model(i, 200, "1e400"), *SHORT_MD,
        "--output-dir", str(i.folder / "md-damaged")],
        ("damaged_nep.txt, line 200:", "'1e400' is not a finite number")),
    Case("predict-ensemble-of-structures", lambda i: [
        "predict", "--demo", "si-tosca", "--ensemble", i.structure("si.xyz"), str(i.trajectory),
        "--output-dir", str(i.folder / "predict-ensemble")],
        ("si.xyz, line 1:", "is not a NEP model file")),
    Case("sqw-primitive-cell-without-a-cell", lambda i: _sqw(
        GOOD, "--q-path", "G-X", "--primitive-cell",
        i.write("nocell.xyz", "2\n\nSi 0 0 0\nSi 1.36 1.36 1.36\n"))(i),
        ("nocell.xyz", "holds no three-dimensional cell", "Lattice=")),
    Case("predict-experiment-in-terahertz", lambda i: [
        "predict", "--demo", "si-tosca", "--experiment",
        i.write("measured_thz.txt", "frequency (THz) intensity\n1 2\n2 3\n"),
        "--output-dir", str(i.folder / "predict-thz")],
        ("measured_thz.txt, line 1:", "the energy column is in THz", "meV or cm^-1")),
    Case("md-cif-with-a-mixed-site", _md(lambda i: i.write("alloy.cif", _CIF_SITES.format(
        sites="Si1 Si 0 0 0 0.5\nGe1 Ge 0 0 0 0.5\n"))),
        ("alloy.cif, _atom_site_occupancy:", "atom site 1", "partially occupied (Si 0.5, Ge 0.5)",
         "build an ordered cell"), needs_model=True),
    Case("harmonic-cif-with-a-partial-site", _harmonic(lambda i: i.write(
        "vacancies.cif", _CIF_SITES.format(sites="Si1 Si 0 0 0 0.7\n"))),
        ("vacancies.cif, _atom_site_occupancy:", "partially occupied (Si 0.7)"),
        needs_model=True),
    Case("md-poscar-counts-one-short", _md(lambda i: i.write("short.poscar", _POSCAR.format(
        count=7))), ("short.poscar, line 16:", "holds a coordinate line after the 7 atoms",
                     "correct the counts line (line 7)"), needs_model=True),
    Case("harmonic-nep5-model-on-cpu", lambda i: [
        "harmonic", i.structure("si.xyz"), "--model", _damaged_model(i, 1, "nep5 1 Si"),
        "--relax", "none", "--output", str(i.folder / "harmonic.nxs")],
        ("damaged_nep.txt, line 1:", "is a NEP5 model", "run it with GPUMD")),
    Case("harmonic-castep-phonon-file-cut", lambda i: [
        "harmonic", i.write("cut.phonon", " BEGIN header\n Number of ions 2\n"),
        "--output", str(i.folder / "harmonic.nxs")],
        ("cut.phonon:", "euphonic cannot read it", "as CASTEP wrote it")),
    Case("sqw-output-named-as-a-picture", _sqw(GOOD, output="{folder}/../result.png"),
         ("--output:", "result.png is named as a picture", "would replace it",
          "e.g. result.nxs")),
    Case("instrument-plot-named-as-nexus",
         _instrument(lambda i: str(i.sqw), "--temperature", "300", "--plot", "arcs_plot.nxs"),
         ("--plot:", "'.nxs' is not a picture format", "give a name ending in .png")),
    Case("instrument-plot-ends-with-a-separator",
         _instrument(lambda i: str(i.sqw), "--temperature", "300", "--plot", "new_folder/"),
         ("--plot:", "new_folder/ ends with '/', a folder", "give a file name")),
    Case("md-temperatures-sharing-a-folder",
         _md(lambda i: i.structure("si.xyz"), "--temperature", "300", "300.0001",
             output="{folder}/md-two-temperatures"),
         ("--temperature:", "300.0 and 300.0001 K both run in the folder T_300K",
          "give each temperature once"), needs_model=True),
    Case("train-metrics-file-is-the-output-folder", lambda i: [
        "train", _training_set(i), "--backend", "neppo", "--generations", "2",
        "--output-dir", str(i.folder / "train-same"), "--metrics-file",
        str(i.folder / "train-same")],
        ("--metrics-file:", "train-same is also the output 'output_directory'",
         "give another file name")),
    Case("sqw-q-file-with-a-repeated-q-point", _sqw(GOOD, "--q-file", "{qfile}"),
         ("repeated_q.txt, line 3:", "the q-point of line 1 is given again",
          "give each q-point once")),
    Case("harmonic-energy-step-too-fine",
         _harmonic(lambda i: i.structure("si.xyz"), "--relax", "none", "--supercell", "1",
                   "--mesh", "2", "2", "2", "--energy-step", "1e-9"),
         ("--energy-step:", "bins from 0 to", "more than the 1,000,000", "give a step of at least"),
         needs_model=True),
    Case("harmonic-mesh-too-fine",
         _harmonic(lambda i: i.structure("si.xyz"), "--relax", "none", "--supercell", "1",
                   "--mesh", "100000", "100000", "100000"),
         ("--mesh:", "1e+15 q-points", "give a coarser mesh"), needs_model=True),
    Case("harmonic-supercell-too-large",
         _harmonic(lambda i: i.structure("si.xyz"), "--relax", "none", "--supercell", "100"),
         ("--supercell:", "8,000,000 atoms", "give fewer repetitions"), needs_model=True),
]

#: Diamond silicon as a VASP 5 POSCAR whose counts line is ``count``.
_POSCAR = """Si8
1.0
5.43 0 0
0 5.43 0
0 0 5.43
Si
{count}
Direct
0 0 0
0.5 0.5 0
0.5 0 0.5
0 0.5 0.5
0.25 0.25 0.25
0.75 0.75 0.25
0.75 0.25 0.75
0.25 0.75 0.75
"""

#: A diamond-structure CIF whose atom-site loop has an occupancy column (``sites``: its rows).
_CIF_SITES = """data_disordered
_cell_length_a 5.43
_cell_length_b 5.43
_cell_length_c 5.43
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'F d -3 m'
_symmetry_Int_Tables_number 227
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
{sites}"""


@pytest.mark.parametrize("case", CLI_ERRORS, ids=[case.id for case in CLI_ERRORS])
def test_cli_error(case: Case, inputs: Inputs, shared_data_or_none, capsys, tmp_path,
                   monkeypatch):
    if case.needs_model:
        if shared_data_or_none is None:
            pytest.skip("needs the Si NEP model of ../shared/data")
        inputs.model = shared_data_or_none / SI_MODEL
    monkeypatch.chdir(tmp_path)
    argv = [a.replace("{summary}", str(inputs.summary_300k)) for a in case.argv(inputs)]
    if "{qfile}" in argv:   # 2 pi / 9 Angstrom along x, and again after a comment line
        argv[argv.index("{qfile}")] = inputs.write(
            "repeated_q.txt", f"{2 * np.pi / 9} 0 0\n# again\n{2 * np.pi / 9:.6f} 0 0\n")
    if case.id == "md-corrupted-checkpoint":
        run = inputs.folder / "md-checkpoint" / "T_300K" / "run_000"
        run.mkdir(parents=True, exist_ok=True)
        (run / "checkpoint.npz").write_bytes(b"PK\x03\x04 cut short")
    if case.id == "md-run-folder-is-a-file":
        (inputs.folder / "md-file-run" / "T_300K").mkdir(parents=True, exist_ok=True)
        (inputs.folder / "md-file-run" / "T_300K" / "run_000").write_text("a file\n")
    capsys.readouterr()
    status = main(argv)
    error = capsys.readouterr().err
    assert status == 2, error
    assert "Traceback" not in error
    message = error.strip().splitlines()[-1]
    assert message.startswith(f"mdinsim {argv[0]}: error: "), message
    for part in case.expected:
        assert part in message, (part, message)
    if case.id == "md-overlap-allowed-runs-away":
        kept = list((inputs.folder / "md-runaway").rglob("thermo.csv.partial"))
        assert kept and kept[0].stat().st_size > 0        # completed work kept


@pytest.fixture(scope="module")
def shared_data_or_none():
    from .conftest import shared_directory

    shared = shared_directory()
    return shared / "data" if shared is not None and (shared / "data").is_dir() else None


# -- disk full and I/O errors --------------------------------------------------------------------
def _no_temporaries(folder: Path) -> None:
    assert not [p for p in folder.rglob("*.tmp-mdinsim")], list(folder.rglob("*"))


@pytest.mark.parametrize("command", ["sqw", "instrument"])
def test_disk_full_while_writing_is_a_message_and_leaves_nothing(inputs, tmp_path, capsys,
                                                                 monkeypatch, command):
    """ENOSPC from the write itself (the disk fills while writing): a message naming the
    output, the size it needed and the free space; no temporary file left."""
    import pathlib

    real_write = pathlib.Path.write_bytes

    def full(self, data):
        real_write(self, bytes(data)[:100])
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(pathlib.Path, "write_bytes", full)
    argv = {"sqw": ["sqw", str(inputs.trajectory), *SQW],
            "instrument": ["instrument", str(inputs.sqw), "--instrument", "ARCS", "--ei", "100",
                           "--temperature", "300"]}[command]
    status = main(argv + ["--output", str(tmp_path / "s.nxs")])
    error = capsys.readouterr().err
    assert status == 2 and "Traceback" not in error
    assert "s.nxs: cannot be written: the disk is full: it needs" in error
    assert "are free" in error
    _no_temporaries(tmp_path)
    assert not (tmp_path / "s.nxs").exists()


def test_a_finished_run_whose_trajectory_was_cut_is_not_reported_finished(
        inputs, shared_data_or_none, tmp_path, capsys):
    """A run folder whose summary.json says done but whose trajectory was cut afterwards (an
    interrupted copy): the rerun names the file and the fix instead of reporting the run."""
    if shared_data_or_none is None:
        pytest.skip("needs the Si NEP model of ../shared/data")
    argv = ["md", inputs.structure("si.xyz"), "--model", str(shared_data_or_none / SI_MODEL),
            *SHORT_MD, "--supercell", "1", "1", "1", "--trajectory-format", "extxyz",
            "--output-dir", str(tmp_path / "md")]
    assert main(argv) == 0
    trajectory = tmp_path / "md" / "T_300K" / "run_000" / "trajectory.xyz"
    lines = trajectory.read_text().splitlines(keepends=True)
    trajectory.write_text("".join(lines[:len(lines) // 2 + 3]))
    capsys.readouterr()
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "Traceback" not in error
    assert "trajectory.xyz: holds" in error and "records" in error
    assert "delete the run's folder to run it again" in error


def test_a_corrupted_sqw_checkpoint_is_ignored_and_the_result_is_that_of_a_fresh_run(
        inputs, tmp_path):
    """sqw's own checkpoint damaged: recomputed from the start, equal to a run without one."""
    damaged = tmp_path / "s.nxs.checkpoint.npz"
    damaged.write_bytes(b"PK\x03\x04 damaged")
    assert main(["sqw", str(inputs.trajectory), *SQW, "--output", str(tmp_path / "s.nxs"),
                 "--no-plot"]) == 0
    assert main(["sqw", str(inputs.trajectory), *SQW, "--output", str(tmp_path / "r.nxs"),
                 "--no-plot"]) == 0
    np.testing.assert_array_equal(_sqw_values(tmp_path / "s.nxs"),
                                  _sqw_values(tmp_path / "r.nxs"))
    assert not damaged.exists()


def test_too_little_free_space_is_refused_before_writing(inputs, tmp_path, monkeypatch):
    from mantid_mdinsim.io import paths
    from mantid_mdinsim.io.nexus import load_processed_nexus, save_processed_nexus

    workspaces = load_processed_nexus(inputs.sqw)
    monkeypatch.setattr(paths, "free_bytes", lambda path: 1000)
    with pytest.raises(OutputWriteError, match=r"s.nxs: needs [0-9.]+ [kM]B but the disk has 1 kB free"):
        save_processed_nexus(tmp_path / "s.nxs", workspaces)
    _no_temporaries(tmp_path)


_LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # write() then fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
from mantid_mdinsim.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_file_size_limit_gives_a_message_not_a_segfault(inputs, tmp_path, limit=200_000):
    """A real write failure under RLIMIT_FSIZE (works as root too): h5py segfaulted here when
    HDF5 itself wrote the file; now the file is built in memory and written by Python."""
    completed = subprocess.run(
        [sys.executable, "-c", _LIMITED.format(limit=limit), "sqw", str(inputs.trajectory),
         *SQW, "--output", str(tmp_path / "s.nxs")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr
    assert "s.nxs: cannot be written: the file is larger than the file size limit" in \
        completed.stderr
    assert "it needs" in completed.stderr
    _no_temporaries(tmp_path)


def test_md_disk_full_names_the_file(shared_data_or_none, inputs, tmp_path):
    if shared_data_or_none is None:
        pytest.skip("needs the Si NEP model of ../shared/data")
    structure = inputs.structure("si.xyz")
    completed = subprocess.run(
        [sys.executable, "-c", _LIMITED.format(limit=2000), "md", structure, "--model",
         str(shared_data_or_none / SI_MODEL), *SHORT_MD, "--output-dir", str(tmp_path / "md")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr
    message = completed.stderr.strip().splitlines()[-1]
    assert message.startswith(f"mdinsim md: error: {tmp_path / 'md'}"), message
    assert "cannot be written: the file is larger than the file size limit" in message
    _no_temporaries(tmp_path)


# -- unexpected errors ---------------------------------------------------------------------------
def test_an_unexpected_error_says_where_to_report_and_keeps_a_log(inputs, tmp_path, capsys,
                                                                 monkeypatch):
    # The sqw command imports its core when it runs (a lean start-up), so the core is patched.
    import mantid_mdinsim.sqw.compute as sqw_compute

    def broken(*args, **kwargs):
        return 1 / 0

    monkeypatch.setattr(sqw_compute, "compute_sqw", broken)
    monkeypatch.setenv("MDINSIM_LOG_DIR", str(tmp_path / "logs"))
    status = main(["sqw", str(inputs.trajectory), *SQW, "--output", str(tmp_path / "s.nxs")])
    error = capsys.readouterr().err
    assert status == 3 and "Traceback" not in error
    assert "unexpected internal error (ZeroDivisionError" in error and "report it" in error
    logs = list((tmp_path / "logs").glob("mdinsim-sqw-*.log"))
    assert len(logs) == 1 and "ZeroDivisionError" in logs[0].read_text()
    assert str(logs[0]) in error


# -- the Python API ------------------------------------------------------------------------------
def test_python_api_names_the_workspace_not_a_placeholder(inputs):
    from mantid_mdinsim.instrument import apply_instrument
    from mantid_mdinsim.io.nexus import load_processed_nexus

    spectrum = next(w for w in load_processed_nexus(inputs.sqw) if w.name == "sqw")
    spectrum = spectrum.copy(values=np.full_like(spectrum.values, np.nan), name="my_sqw")
    with pytest.raises(InputFileError) as error:
        apply_instrument(spectrum, instrument="ARCS", incident_energy_mev=100.0,
                         temperature_k=300.0)
    assert "workspace 'my_sqw'" in str(error.value)
    assert "given in memory" not in str(error.value)


def test_python_api_refuses_an_instrument_output(inputs):
    from mantid_mdinsim.instrument import apply_instrument
    from mantid_mdinsim.io.nexus import load_processed_nexus

    measured = next(w for w in load_processed_nexus(inputs.instrument_output)
                    if not hasattr(w, "columns"))
    with pytest.raises(InputFileError, match="is the output of MDApplyInstrument"):
        apply_instrument(measured, instrument="ARCS", incident_energy_mev=100.0,
                         temperature_k=300.0, mask_value="zero")


def test_predict_stops_when_md_blows_up(shared_data_or_none, inputs, tmp_path):
    """predict hung on overlapping atoms; now the MD guard stops it (a subprocess with a
    timeout, so a regression fails instead of hanging the suite)."""
    if shared_data_or_none is None:
        pytest.skip("needs the Si NEP model of ../shared/data")
    structure = inputs.structure("overlap2.xyz", _overlap(0.02))
    completed = subprocess.run(
        [sys.executable, "-m", "mantid_mdinsim", "predict", structure, "--model",
         str(shared_data_or_none / SI_MODEL), "--instrument", "TOSCA", "--temperature", "300",
         "--backend", "cpu", "--max-frequency-mev", "70", "--equilibration-time-ps", "0.05",
         "--production-time-ps", "0.05", "--dump-interval-fs", "10",
         "--min-atom-distance", "0", "--output-dir", str(tmp_path / "predict")],
        capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr
    assert "the temperature ran away" in completed.stderr


# -- correct results: what the guards must let through, checked against references -----------
def _sqw_values(path: Path) -> np.ndarray:
    from mantid_mdinsim.io.nexus import load_processed_nexus

    return next(w for w in load_processed_nexus(path) if w.name == "sqw").values


def test_frame_times_printed_with_few_digits_are_evenly_spaced(inputs, tmp_path):
    """Time= rounded to a few digits (jitter far below the tolerance) is not a gap: the result
    equals that of the same frames without any Time= (the reference)."""
    jittered, plain = [], []
    for index, line in enumerate(inputs.lines):
        if line.startswith("Time="):
            frame = index // (N_ATOMS + 2)
            time = 10.0 * frame + (1e-4 if frame % 2 else 0.0)
            jittered.append(line.replace(line.split()[0], f"Time={time:.4f}"))
            plain.append(" ".join(line.split()[1:]) + "\n")
        else:
            jittered.append(line)
            plain.append(line)
    outputs = []
    for name, lines in (("jittered.xyz", jittered), ("plain.xyz", plain)):
        source = tmp_path / name
        source.write_text("".join(lines))
        output = tmp_path / (name + ".nxs")
        assert main(["sqw", str(source), *SQW, "--output", str(output), "--no-plot"]) == 0
        outputs.append(_sqw_values(output))
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_unphysical_trajectory_is_computed_with_a_warning_bounded_by_its_temperature(tmp_path):
    """A harmonic crystal at 1e6 K: S(q,w) is computed, and the warning's temperature, a lower
    bound of the kinetic temperature, lies between the 1e4 K threshold and the crystal's
    1e6 K (the analytic reference)."""
    from mantid_mdinsim.sqw import compute_sqw
    from mantid_mdinsim.sqw.compute import UnphysicalTrajectoryWarning

    crystal = HarmonicCrystal(cells=3, temperature_k=1.0e6, species=["Si"] * N_ATOMS)
    path = write_extxyz(tmp_path / "hot.xyz", crystal.positions(np.arange(FRAMES) * 1.0),
                        crystal.cell, crystal.species, time_step_fs=1.0)
    with pytest.warns(UnphysicalTrajectoryWarning) as record:
        result = compute_sqw(trajectories=[str(path)], time_step_fs=1.0, window=4,
                             q_max_inv_angstrom=2.5, q_count=20)
    estimate = float(str(record[0].message).split("as at ")[1].split(" K")[0])
    assert 1.0e4 < estimate <= 1.0e6 * 1.05
    assert "unphysical" in result.logs["trajectory_warnings"]
    assert np.isfinite(result.parts["total"][0]).any()


def test_msd_of_the_matching_temperature_is_taken_from_a_summary_of_several(inputs, tmp_path):
    """A summary with U at 10 K and 300 K used at 10 K gives exactly the result of --msd with
    the 10 K value (the reference), not the 300 K one."""
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"temperatures": {
        "10": {"mean_squared_displacement_angstrom2": 0.004},
        "300": {"mean_squared_displacement_angstrom2": 0.05}}}))
    base = ["instrument", str(inputs.sqw), "--instrument", "ARCS", "--ei", "100",
            "--temperature", "10", "--debye-waller", "remove", "--resolution", "none",
            "--mask-value", "zero"]
    results = []
    for extra, name in (([f"--md-summary={summary}"], "a"), (["--msd", "0.004"], "b"),
                        (["--msd", "0.05"], "c")):
        output = tmp_path / f"{name}.nxs"
        assert main(base + extra + ["--output", str(output)]) == 0
        results.append(_instrument_values(output))
    np.testing.assert_array_equal(results[0], results[1])
    assert not np.allclose(results[0], results[2])


def _instrument_values(path: Path) -> np.ndarray:
    from mantid_mdinsim.io.nexus import load_processed_nexus
    from mantid_mdinsim.spectrum import Spectrum

    return next(w for w in load_processed_nexus(path) if isinstance(w, Spectrum)).values


def test_override_provenance_applies_the_given_msd_exactly(inputs, tmp_path):
    """With --override-provenance the 300 K U is used at 10 K as asked: the output divided by
    that without a Debye-Waller change is exp(|Q|^2 U / 3) row by row (analytic)."""
    from mantid_mdinsim.io.nexus import load_processed_nexus
    from mantid_mdinsim.spectrum import Spectrum

    base = ["instrument", str(inputs.sqw), "--instrument", "ARCS", "--ei", "100",
            "--temperature", "10", "--resolution", "none", "--mask-value", "zero"]
    with_dw, without = tmp_path / "dw.nxs", tmp_path / "none.nxs"
    assert main(base + ["--debye-waller", "remove", "--md-summary", str(inputs.summary_300k),
                        "--override-provenance", "--output", str(with_dw)]) == 0
    assert main(base + ["--output", str(without)]) == 0
    spectrum = next(w for w in load_processed_nexus(with_dw) if isinstance(w, Spectrum))
    reference = _instrument_values(without)
    q = spectrum.vertical_centres()
    expected = reference * np.exp(q * q * 0.02 / 3.0)[:, None]
    finite = np.isfinite(expected) & (reference != 0)
    np.testing.assert_allclose(spectrum.values[finite], expected[finite], rtol=1e-10)


def test_errors_cross_processes():
    """The errors survive pickling (MD runs in worker processes; an InputFileError there, e.g.
    a damaged checkpoint, failed to unpickle and hid its message)."""
    import pickle

    for error in (PhysicsError("run stopped"), OutputWriteError("x.nxs", "full", "free space",
                                                                needed_bytes=10),
                  InputFileError("c.npz", "damaged", where="frame 2", fix="delete it"),
                  ParameterError("window", "too long", "shorten it")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error)
