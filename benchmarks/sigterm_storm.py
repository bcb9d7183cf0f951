"""SIGTERM at a random moment of a whole ``mdinsim sqw --scheduler local:2``, many times.

    nice -n 19 python benchmarks/sigterm_storm.py                  # 40 tries
    nice -n 19 python benchmarks/sigterm_storm.py --tries 100 --busy 2 --seed 3
    nice -n 19 python benchmarks/sigterm_storm.py --tree DIR     # DIR: git archive main | tar -x

Not a timing: a hunt for the moments where SIGTERM is not handled as it must be (exit status
143, no traceback, no process of the command left, nothing under the output's name; status 0
with a whole output where the signal came after the work). The command is first run once
without a signal to learn how long it lives; each try then sends SIGTERM after a delay drawn
uniformly over that life (start-up, the plotting helper's fork, the cluster's start, the
pieces, merging, writing, exit). ``--busy N`` runs N busy loops beside it (CI machines are
loaded: the moments stretch, and others line up). Each try prints its delay, exit status and
verdict; failures their error output's tail; the summary counts each outcome.
Run it under ``nice -n 19`` on a shared machine (its children inherit the niceness).
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def command(trajectory: Path, output: Path, q_count: int, plot: bool) -> list[str]:
    return [sys.executable, "-m", "mantid_mdinsim", "sqw", str(trajectory),
            "--time-step-fs", "10", "--window", "50", "--q-max", "12",
            "--q-count", str(q_count), "--per-q", "--scheduler", "local:2",
            "--output", str(output), *([] if plot else ["--no-plot"])]


def _descendants(process: psutil.Process, seen: dict[int, psutil.Process]) -> None:
    try:
        for child in process.children(recursive=True):
            seen.setdefault(child.pid, child)
    except psutil.Error:
        pass


def one_try(arguments: list[str], output: Path, delay_s: float,
            tree: Path | None) -> tuple[str, int, str]:
    """Start the command, SIGTERM it after ``delay_s``; the verdict, status and stderr."""
    for stale in output.parent.glob(output.name + "*"):   # a fresh start: no checkpoint
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    output.with_suffix(".png").unlink(missing_ok=True)
    process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               **run_options(output.parent, tree))
    parent = psutil.Process(process.pid)
    seen: dict[int, psutil.Process] = {}
    deadline = time.monotonic() + delay_s
    while time.monotonic() < deadline and process.poll() is None:
        _descendants(parent, seen)       # every process it started, to check they all end
        time.sleep(0.02)
    signalled = process.poll() is None
    if signalled:
        _descendants(parent, seen)
        process.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    try:
        _, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        return "hung (no exit 120 s after SIGTERM)", process.returncode, stderr.decode()
    status, text = process.returncode, stderr.decode(errors="replace")
    lag = f" (exit {time.monotonic() - sent:.1f} s after)" if signalled else ""
    for log in sorted((output.parent / "logs").glob("*.log")):   # errors.report_unexpected
        text += f"\n--- {log.name}:\n" + log.read_text()[-2500:]
        log.unlink()
    _, alive = psutil.wait_procs(list(seen.values()), timeout=20)
    alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    problems = []
    if alive:
        problems.append(f"{len(alive)} processes left: "
                        + "; ".join(" ".join(p.cmdline())[:80] for p in alive))
        for leftover in alive:
            leftover.kill()
    if "Traceback" in text:
        problems.append("traceback")
    if status == 143:
        if output.exists():
            problems.append("output left after 143")
        verdict = "143"
    elif status == 0:
        if not output.exists():
            problems.append("status 0 without output")
        verdict = "0 (done before the signal)" if not signalled else "0 (signal after the work)"
        if signalled and "wrote" not in text:
            problems.append("status 0, signalled before it wrote")
    else:
        verdict = f"status {status}"
        problems.append(f"status {status}")
    if problems:
        verdict = f"FAIL (status {status}) " + ", ".join(problems)
    return verdict + lag, status, text


def run_options(folder: Path, tree: Path | None) -> dict:
    """The command's environment: unexpected errors' logs in ``folder/logs``; the package of
    the checkout ``tree`` (e.g. ``git archive main | tar -x -C DIR``) where one is given."""
    environ = dict(os.environ, MDINSIM_LOG_DIR=str(folder / "logs"))
    if tree is None:
        return {"env": environ}
    environ["PYTHONPATH"] = str(tree)
    return {"env": environ, "cwd": str(tree)}     # python -m puts the folder first


def busy_loops(count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tries", type=int, default=40)
    parser.add_argument("--busy", type=int, default=0, help="busy loops beside the command")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--q-count", type=int, default=4000)
    parser.add_argument("--no-plot", action="store_true", help="commands without the plot")
    parser.add_argument("--from-s", type=float, default=0.0,
                        help="earliest delay (s); default: the command's start")
    parser.add_argument("--tree", type=Path, default=None,
                        help="run another checkout's mantid_mdinsim (before/after)")
    parser.add_argument("--to-fraction", type=float, default=1.05,
                        help="latest delay, as a fraction of the unsignalled command's life")
    options = parser.parse_args()
    from bench_sqw import write_trajectory

    rng = random.Random(options.seed)
    outcomes: collections.Counter[str] = collections.Counter()
    loops = busy_loops(options.busy)
    try:
        with tempfile.TemporaryDirectory(prefix="mdinsim-sigterm-") as name:
            folder = Path(name)
            trajectory = folder / "harmonic.xyz"
            write_trajectory(trajectory, 108, 400)
            output = folder / "sqw.nxs"
            arguments = command(trajectory, output, options.q_count, not options.no_plot)
            started = time.perf_counter()
            completed = subprocess.run(arguments, capture_output=True, text=True,
                                       **run_options(folder, options.tree))
            life_s = time.perf_counter() - started
            if completed.returncode != 0:
                raise SystemExit(f"the unsignalled command failed:\n{completed.stderr[-3000:]}")
            print(f"{options.tree or 'this checkout'}: unsignalled command: {life_s:.1f} s; {options.tries} tries, delays "
                  f"{options.from_s:.1f}-{options.to_fraction * life_s:.1f} s, busy loops: "
                  f"{options.busy}", flush=True)
            for index in range(options.tries):
                delay = rng.uniform(options.from_s, options.to_fraction * life_s)
                verdict, status, text = one_try(arguments, output, delay, options.tree)
                outcomes[verdict.split(":")[0].split(" (exit")[0]] += 1
                print(f"{index:3d} SIGTERM at {delay:6.2f} s: {verdict}", flush=True)
                if verdict.startswith("FAIL"):
                    print("    " + "\n    ".join(text.strip().splitlines()[-25:]), flush=True)
    finally:
        for loop in loops:
            loop.kill()
    print("outcomes:", dict(outcomes))


if __name__ == "__main__":
    main()
