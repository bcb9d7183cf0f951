"""Benchmark (GPU): the torch engine on CUDA, whole process, and its agreement with the CPU.

The issue's case: 8,000 atoms x 606 q-points (spherical, |q| <= 6 1/Angstrom) x 300 frames,
window 100, coherent + incoherent, as one ``mdinsim sqw`` process reading NetCDF (goal <= 3 s;
dynasor 2.5 on an H100: 27 s) and reading extended XYZ; then the agreement of the outputs of the
torch engine on the GPU (fp64 and fp32) with the numba engine on the CPU, on a smaller case
(goal for fp64: 1e-10 relative to each spectrum's maximum).

    python benchmarks/bench_sqw_gpu.py                  # needs a CUDA GPU visible to PyTorch
    python benchmarks/bench_sqw_gpu.py --with-dynasor   # dynasor on the same XYZ file as well

Run by .ci/device-check.sh on a machine lent a GPU.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_sqw import write_trajectory  # noqa: E402
from bench_sqw_process import (best_of, dynasor, line, ours, prepare_case,  # noqa: E402
                               run_process)


def agreement(path: Path, q_file: Path, window: int) -> None:
    from mantid_mdinsim.sqw import compute_sqw

    settings = dict(trajectories=[str(path)], time_step_fs=10.0, window=window,
                    q_file=str(q_file), per_q=True, weights="neutron", incoherent="yes")
    reference = compute_sqw(settings, engine="numba")
    for precision in ("double", "single"):
        result = compute_sqw(settings, engine="torch", device="cuda", precision=precision)
        worst = 0.0
        for name, (values, _) in reference.parts.items():
            scale = np.nanmax(np.abs(values))
            worst = max(worst, float(np.nanmax(np.abs(result.parts[name][0] - values)) / scale))
        print(f"  torch cuda {precision:<6s} vs numba cpu: largest difference {worst:.2e} of "
              f"each spectrum's maximum (goal fp64: 1e-10)")


def whole_case_agreement(gpu_output: Path, cpu_output: Path) -> None:
    """Largest difference between two whole-process outputs (every spectrum: total, parts,
    partials, per q-point), relative to each spectrum's maximum."""
    from mantid_mdinsim.io.nexus import load_processed_nexus
    from mantid_mdinsim.spectrum import Spectrum

    gpu = {w.name: w for w in load_processed_nexus(gpu_output) if isinstance(w, Spectrum)}
    worst, name_worst = 0.0, ""
    for workspace in load_processed_nexus(cpu_output):
        if not isinstance(workspace, Spectrum):
            continue
        scale = np.nanmax(np.abs(workspace.values))
        difference = float(np.nanmax(np.abs(gpu[workspace.name].values - workspace.values))
                           / scale)
        if difference > worst:
            worst, name_worst = difference, workspace.name
    print(f"  whole case, torch cuda double vs numba cpu: largest difference {worst:.2e} of the "
          f"spectrum's maximum ({name_worst}; goal 1e-10, {len(gpu)} spectra compared)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--atoms", type=int, default=8000)
    parser.add_argument("--q", type=int, default=606)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--with-dynasor", action="store_true")
    args = parser.parse_args()
    run_process([sys.executable, "-c", "pass"])   # the launcher, while this process is small
    import torch

    if not torch.cuda.is_available():
        print("no CUDA GPU visible to PyTorch: nothing to measure")
        return
    print(f"GPU: {torch.cuda.get_device_name(0)}")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        xyz, netcdf, q_file, tiny, tiny_q = prepare_case(folder, args.atoms, args.frames,
                                                         args.q, 6.0)
        q_points = np.loadtxt(q_file)
        print(f"{args.atoms} atoms, {len(q_points)} q, {args.frames} frames, window "
              f"{args.window}, coherent + incoherent")
        run_process(ours(tiny, tiny_q, 4, True, folder / "t.nxs", "torch"))   # warm caches
        reference = None
        if args.with_dynasor:
            reference = best_of(dynasor(xyz, q_file, args.window, True, folder / "d.npz"), 1)
            line("dynasor (its default backend), XYZ", reference)
        for name, path in (("NetCDF", netcdf), ("XYZ", xyz)):
            for precision in ("double", "single"):
                line(f"mdinsim sqw torch cuda {precision}, {name}", best_of(ours(
                    path, q_file, args.window, True, folder / "o.nxs", "torch",
                    ["--device", "cuda", "--precision", precision]), 2), reference)
        # The same whole case on the CPU (numba engine), every output compared with the GPU's.
        run_process(ours(netcdf, q_file, args.window, True, folder / "gpu.nxs", "torch",
                         ["--device", "cuda", "--precision", "double"]))
        line("mdinsim sqw numba cpu, NetCDF", run_process(
            ours(netcdf, q_file, args.window, True, folder / "cpu.nxs", "numba")), reference)
        whole_case_agreement(folder / "gpu.nxs", folder / "cpu.nxs")
        small = folder / "small.xyz"
        write_trajectory(small, 500, 120)
        np.savetxt(folder / "small_q.txt", q_points[:100])
        agreement(small, folder / "small_q.txt", 30)


if __name__ == "__main__":
    main()
