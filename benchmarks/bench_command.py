"""local:1 against local:2 as a user runs them: whole ``mdinsim`` commands in fresh processes.

    python benchmarks/bench_command.py                   # sqw: 1000 atoms, 600 frames, 400 q
    python benchmarks/bench_command.py --only md         # md: two runs of 64 Si atoms, 0.6 ps
    python benchmarks/bench_command.py --repeats 6 --production-ps 3

Unlike ``bench_distributed.py`` (which times the step inside one Python process, its imports
and the NeXus writing left out), every run here is the command a user types, from the
interpreter's start to its exit: imports, checks, the cluster's start, the pieces, merging,
closing, writing (``--no-plot``: the plot is a separate helper process and not the scaling
question). Each runs through ``command_timeline.py``, which records where the time went; the
configurations alternate (ABBA) and the figures are medians, with the spread of the ratios
paired within a repeat (single runs on this virtual machine move by 30-50 %). The in-process
command (``--scheduler none``, numba's threads on every core) is timed once for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
MODEL = HERE.parents[1] / "shared" / "data" / "nep" / "Si_2022_NEP4_3body.txt"


def one(arguments: list[str], scheduler: str, folder: Path, tag: str) -> dict:
    """One command; wall seconds from start to exit, and its timeline's phases."""
    timeline = folder / f"{tag}.json"
    environ = dict(os.environ, MDINSIM_TIMELINE_JSON=str(timeline))
    started = time.perf_counter()
    arguments = [word.replace("{tag}", tag) for word in arguments]   # a fresh output each
    completed = subprocess.run([sys.executable, str(HERE / "command_timeline.py"), *arguments,
                                "--scheduler", scheduler], cwd=folder, env=environ,
                               capture_output=True, text=True)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{scheduler} failed:\n{completed.stderr[-3000:]}")
    events = json.loads(timeline.read_text())

    def at(name: str) -> float | None:
        return next((e[0] for e in events if e[2] == name), None)

    pieces = [e for e in events if e[2].startswith("piece ")]
    starts = [e[0] for e in pieces if e[2].endswith(" start")]
    ends = [e[0] for e in pieces if ") processor-s)" in e[2] or e[2].endswith("processor-s)")]
    cpu = sum(float(e[2].rsplit("(", 1)[1].split()[0]) for e in pieces if "processor-s)" in e[2])
    client_cpu = max(e[1] for e in events if e[1] is not None)
    phases = {"wall_s": wall, "client_cpu_s": client_cpu, "pieces_cpu_s": cpu}
    if starts:
        # on local:2: how far apart the two workers started and finished (imbalance: the
        # makespan over the mean piece, beside c: docs/scaling.md, sixth pass)
        phases.update(first_piece_s=min(starts), makespan_s=max(ends) - min(starts),
                      after_pieces_s=(at("exit") or wall) - max(ends),
                      start_spread_s=max(starts) - min(starts),
                      end_spread_s=max(ends) - min(ends))
    return phases


def median(values) -> float:
    return float(np.median(list(values)))


def compare(arguments: list[str], folder: Path, repeats: int, label: str) -> None:
    none = one(arguments, "none", folder, "none")
    print(f"{label}\n  in process (--scheduler none): {none['wall_s']:.2f} s, client "
          f"{none['client_cpu_s']:.2f} processor-s", flush=True)
    runs: dict[int, list[dict]] = {1: [], 2: []}
    for repeat in range(repeats):
        for workers in ((1, 2) if repeat % 2 == 0 else (2, 1)):
            run = one(arguments, f"local:{workers}", folder, f"local{workers}_{repeat}")
            runs[workers].append(run)
            print(f"    #{repeat + 1} local:{workers}: {run['wall_s']:6.2f} s; first piece at "
                  f"{run['first_piece_s']:.2f} s, pieces' makespan {run['makespan_s']:.2f} s "
                  f"({run['pieces_cpu_s']:.2f} processor-s; starts {run['start_spread_s']:.2f} s"
                  f" apart, ends {run['end_spread_s']:.2f} s), after the pieces "
                  f"{run['after_pieces_s']:.2f} s; client {run['client_cpu_s']:.2f} "
                  "processor-s", flush=True)
    for workers in (1, 2):
        r = runs[workers]
        print(f"  local:{workers} medians of {repeats}: whole command "
              f"{median(x['wall_s'] for x in r):.2f} s = first piece at "
              f"{median(x['first_piece_s'] for x in r):.2f} + makespan "
              f"{median(x['makespan_s'] for x in r):.2f} + after "
              f"{median(x['after_pieces_s'] for x in r):.2f}; pieces "
              f"{median(x['pieces_cpu_s'] for x in r):.2f} processor-s; pieces' starts "
              f"{median(x['start_spread_s'] for x in r):.2f} s apart, ends "
              f"{median(x['end_spread_s'] for x in r):.2f} s")
    paired = [a["wall_s"] / b["wall_s"] for a, b in zip(runs[1], runs[2])]
    ratio = median(x["wall_s"] for x in runs[1]) / median(x["wall_s"] for x in runs[2])
    span = (median(x["makespan_s"] for x in runs[1]) / median(x["makespan_s"] for x in runs[2]))
    cost = (median(x["pieces_cpu_s"] for x in runs[2])
            / max(median(x["pieces_cpu_s"] for x in runs[1]), 1e-9))
    print(f"  local:2 over local:1: whole command {ratio:.2f}x (paired {min(paired):.2f} to "
          f"{max(paired):.2f}); pieces' makespan {span:.2f}x; c = {cost:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("sqw", "md"), default="sqw")
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--atoms", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--q", type=int, default=400)
    parser.add_argument("--production-ps", type=float, default=0.6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if args.only == "sqw":
            from bench_sqw import write_trajectory

            from mantid_mdinsim.sqw.qpoints import spherical_qpoints

            cell = write_trajectory(folder / "trajectory.xyz", args.atoms, args.frames)
            np.savetxt(folder / "q.txt",
                       spherical_qpoints(cell, 3.0, args.q, seed=1).cartesian[:args.q])
            arguments = ["sqw", "trajectory.xyz", "--time-step-fs", "10", "--window", "100",
                         "--q-file", "q.txt", "--per-q", "--weights", "none", "--incoherent",
                         "yes", "--no-plot", "--output", "sqw_{tag}.nxs"]
            label = (f"mdinsim sqw: {args.atoms} atoms, {args.frames} frames, {args.q} "
                     "q-points, window 100, coherent + incoherent, --no-plot")
        else:
            from ase.build import bulk
            from ase.io import write

            write(folder / "si.xyz", bulk("Si", "diamond", a=5.43, cubic=True),
                  format="extxyz")
            arguments = ["md", "si.xyz", "--model", str(MODEL), "--temperature", "300",
                         "--number-of-runs", "2", "--supercell", "2", "2", "2",
                         "--time-step-fs", "2", "--equilibration", "nvt",
                         "--equilibration-time-ps", "0.2", "--production-time-ps",
                         f"{args.production_ps:g}", "--dump-interval-fs", "10",
                         "--max-frequency-mev", "65", "--backend", "cpu", "--processes", "1",
                         "--output-dir", "md_{tag}"]
            label = (f"mdinsim md: two runs of 64 Si atoms, {args.production_ps:g} ps NVE "
                     "after 0.2 ps NVT, CPU backend")
        compare(arguments, folder, args.repeats, label)


if __name__ == "__main__":
    main()
