"""Writing a processed NeXus file of S(q,w) outputs: this checkout's writer against another's.

    python benchmarks/bench_nexus_write.py                       # this checkout alone
    python benchmarks/bench_nexus_write.py --before /tmp/before  # git archive main | tar -x -C
    python benchmarks/bench_nexus_write.py --from out.nxs        # the workspaces of a file

The workspaces are those of ``mdinsim sqw --per-q --incoherent yes`` on the benchmark case
(``--from`` a file it wrote), or made here alike: 9 spectra of 397 q x 201 energies (smooth
lines with noise, errors beside) and a table of q-points, each with the same 44 logs, the
total and the table with one more (their noise compresses less than a real S(q,w): 11 MB
against 4.7 MB; ``--from`` measures the real one). Prints the best and median wall and processor time
(this process and its compression threads) of ``save_processed_nexus``, interleaved with
``--before``'s writer (``mantid_mdinsim/io/nexus.py`` of that tree, loaded beside this one).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from mantid_mdinsim.io import nexus  # noqa: E402
from mantid_mdinsim.spectrum import (Spectrum, Table, energy_axis, momentum_axis,  # noqa: E402
                                     text_axis)


def workspaces(n_q: int = 397, n_energy: int = 201) -> list:
    rng = np.random.default_rng(7)
    energy = np.linspace(-50.0, 50.0, n_energy)
    q = np.linspace(0.5, 8.0, n_q)
    logs = {f"setting_{k}": float(k) for k in range(20)}
    logs.update({f"note_{k}": f"value {k}" for k in range(14)})
    logs.update({f"count_{k}": k for k in range(6)})
    logs.update({"supercell": np.eye(3).reshape(-1) * 25.0, "frames_per_run": np.array([600.0]),
                 "approximation": "full", "engine": "numba"})
    result = []
    names = ["total", "coherent", "incoherent", "coherent_A_A", "coherent_A_B",
             "coherent_B_B", "incoherent_A", "incoherent_B"]
    for name in names:
        width = rng.uniform(2.0, 10.0, n_q)[:, None]
        values = np.exp(-energy[None, :] ** 2 / width ** 2) * (1 + 0.05 * rng.random((n_q, 1)))
        values += 1e-3 * rng.random(values.shape)
        part_logs = dict(logs)
        if name != "total":
            part_logs.pop("approximation")
        result.append(Spectrum(x=energy_axis(energy), values=values,
                               errors=0.01 * values * rng.random(values.shape),
                               vertical=momentum_axis(q), name=f"sqw_{name}", logs=part_logs))
    averages = np.array([w.values.mean(axis=0) for w in result])
    result.append(Spectrum(x=energy_axis(energy), values=averages, errors=0.01 * averages,
                           vertical=text_axis(names), name="sw",
                           logs={k: v for k, v in logs.items() if k != "approximation"}))
    result.append(Table({"qx": q, "qy": q, "qz": q, "q": q, "n1": np.arange(n_q)},
                        units={"q": "1/Angstrom"}, name="qpoints", logs=dict(logs)))
    return result


def load_writer(tree: Path):
    source = tree / "mantid_mdinsim" / "io" / "nexus.py"
    spec = importlib.util.spec_from_file_location("mantid_mdinsim.io._nexus_before", source)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="a source tree of mdinsim to compare")
    parser.add_argument("--from", dest="source", type=Path,
                        help="write the workspaces of this processed NeXus file")
    parser.add_argument("--repeats", type=int, default=8)
    args = parser.parse_args()
    items = nexus.load_processed_nexus(args.source) if args.source else workspaces()
    writers = {"after": nexus}
    if args.before:
        writers = {"before": load_writer(args.before.resolve()), "after": nexus}
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in writers}
    with tempfile.TemporaryDirectory() as folder:
        for name, writer in writers.items():      # first writes (imports, caches) not counted
            writer.save_processed_nexus(Path(folder) / f"{name}.nxs", items)
        for _ in range(args.repeats):
            for name, writer in writers.items():
                wall, cpu = time.perf_counter(), time.process_time()
                writer.save_processed_nexus(Path(folder) / f"{name}.nxs", items)
                runs[name].append((time.perf_counter() - wall, time.process_time() - cpu))
        sizes = {name: (Path(folder) / f"{name}.nxs").stat().st_size for name in writers}
    print(f"{len(items)} entries; best / median of {args.repeats}")
    for name, values in runs.items():
        walls, cpus = [v[0] for v in values], [v[1] for v in values]
        print(f"  {name:<6s} wall {min(walls):.3f} s (median {statistics.median(walls):.3f})  "
              f"processor {min(cpus):.3f} s (median {statistics.median(cpus):.3f})  "
              f"{sizes[name] / 1e6:.2f} MB")
    if args.before:
        (b_wall, b_cpu), (a_wall, a_cpu) = [(min(v[0] for v in runs[n]),
                                             min(v[1] for v in runs[n]))
                                            for n in ("before", "after")]
        print(f"  after/before: wall {a_wall / b_wall:.3f}, processor {a_cpu / b_cpu:.3f}")


if __name__ == "__main__":
    main()
