"""Whole ``mdinsim sqw`` processes of two versions of the code, side by side (interleaved).

    git archive main | tar -x -C /tmp/before        # the code before, anywhere
    python benchmarks/bench_sqw_before_after.py --before /tmp/before --repeats 5

Runs the benchmark case of ``bench_sqw_process.py`` (1000 atoms, 600 frames, 408 q, window
100, extended XYZ; ``--small`` for a quick one) with this checkout's code and with the code
under ``--before`` (put first on ``PYTHONPATH``, same interpreter and libraries), alternating
the two, for coherent and coherent + incoherent, with and without the PNG. Prints the best
and median wall and processor times (user + system, the process and its plotting helper)
and their ratios after/before. On a loaded machine compare the processor times. Both trees
are byte-compiled and their numba caches warmed first.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_sqw_process import ours, prepare_case, run_process  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True,
                        help="a source tree of mdinsim (holding mantid_mdinsim/) to compare")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--small", action="store_true", help="256 atoms, 100 q, 200 frames")
    parser.add_argument("--engine", default="numba")
    parser.add_argument("--cases", default="coherent,both,coherent-no-plot,both-no-plot",
                        help="which processes (comma-separated): coherent, both (coherent + "
                             "incoherent), each also with -no-plot")
    args = parser.parse_args()
    before = args.before.resolve()
    if not (before / "mantid_mdinsim" / "__init__.py").is_file():
        parser.error(f"--before {before}: no mantid_mdinsim/ there")
    atoms, q_count, frames, window = (256, 100, 200, 50) if args.small else (1000, 408, 600, 100)
    after = HERE.parent
    for tree in (before, after):
        compileall.compile_dir(tree / "mantid_mdinsim", quiet=1)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        xyz, _, q_file, tiny, tiny_q = prepare_case(folder, atoms, frames, q_count, 8.0)

        def command(tree: Path, path: Path, q: Path, w: int, incoherent: bool,
                    extra: list[str]) -> list[str]:
            base = ours(path, q, w, incoherent, folder / "out.nxs", args.engine, extra)
            return ["env", f"PYTHONPATH={tree}"] + base

        for tree in (before, after):          # warm the numba caches of both trees
            for incoherent in (False, True):
                run_process(command(tree, tiny, tiny_q, 4, incoherent, []))
        print(f"{atoms} atoms, {frames} frames, {q_count} q, window {window}, engine "
              f"{args.engine}; best / median of {args.repeats}, interleaved")
        cases = set(args.cases.split(","))
        for incoherent in (False, True):
            for extra in ([], ["--no-plot"]):
                case = ("both" if incoherent else "coherent") + ("-no-plot" if extra else "")
                if case not in cases:
                    continue
                label = ("coherent + incoherent" if incoherent else "coherent") + \
                        (", --no-plot" if extra else "")
                runs: dict[str, list] = {"before": [], "after": []}
                for _ in range(args.repeats):
                    for name, tree in (("before", before), ("after", after)):
                        runs[name].append(run_process(command(tree, xyz, q_file, window,
                                                              incoherent, extra)))
                figures = {name: (min(r.wall for r in rs), statistics.median(r.wall for r in rs),
                                  min(r.cpu for r in rs), statistics.median(r.cpu for r in rs))
                           for name, rs in runs.items()}
                print(f"{label}:")
                for name, (wall, wall_median, cpu, cpu_median) in figures.items():
                    print(f"  {name:<6s} wall {wall:6.2f} s (median {wall_median:6.2f})   "
                          f"processor {cpu:6.2f} s (median {cpu_median:6.2f})")
                b, a = figures["before"], figures["after"]
                print(f"  after/before: wall {a[0] / b[0]:.3f} (median {a[1] / b[1]:.3f}), "
                      f"processor {a[2] / b[2]:.3f} (median {a[3] / b[3]:.3f})")


if __name__ == "__main__":
    main()
