"""A killed ``mdinsim md`` leaves no worker behind, and its runs resume to the same result.

Real subprocesses: the command is started with two CPU runs in two worker processes, signalled
once both runs have written a checkpoint; psutil then checks that every process it started is
gone within seconds. The reference for the resumed result is the same command run without
interruption (the CPU backend resumes exactly: same state, same random generator).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

psutil = pytest.importorskip("psutil")

from mantid_mdinsim.md.checkpoint import CHECKPOINT_NAME  # noqa: E402
from mantid_mdinsim.md.outputs import THERMO_NAME  # noqa: E402

RUNS = ("T_300K/run_000", "T_300K/run_001")


def _command(structure: Path, model: Path, output: Path) -> list[str]:
    return [sys.executable, "-m", "mantid_mdinsim", "md", str(structure), "--model", str(model),
            "--temperature", "300", "--equilibration", "nvt", "--equilibration-time-ps", "0.2",
            "--production-time-ps", "3", "--dump-interval-fs", "200", "--max-frequency-mev", "8",
            "--thermo-interval-fs", "100", "--checkpoint-interval-ps", "0.1",
            "--backend", "cpu", "--processes", "2",
            "--number-of-runs", "2", "--output-dir", str(output)]


def _start_and_wait_for_checkpoints(command: list[str], output: Path) -> tuple:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not all((output / run / CHECKPOINT_NAME).is_file() for run in RUNS):
        assert process.poll() is None, process.communicate()[1].decode()[-2000:]
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.1)
    children = psutil.Process(process.pid).children(recursive=True)
    assert len(children) >= 2  # the two workers (and multiprocessing's resource tracker)
    return process, children


def _thermo(output: Path, run: str) -> np.ndarray:
    return np.genfromtxt(output / run / THERMO_NAME, delimiter=",", names=True,
                         dtype=None, encoding="utf-8")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, si_structure, si_model) -> Path:
    """The same runs without interruption, in this process (one process: no start-up cost;
    the runs do not depend on the number of processes)."""
    from mantid_mdinsim.cli import main

    output = tmp_path_factory.mktemp("uninterrupted")
    command = _command(si_structure, si_model, output)[3:]
    command[command.index("--processes") + 1] = "1"
    assert main(command) == 0
    return output


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_killed_command_leaves_no_worker_and_resumes(tmp_path, si_structure, si_model, number,
                                                     uninterrupted):
    output = tmp_path / "runs"
    command = _command(si_structure, si_model, output)
    process, children = _start_and_wait_for_checkpoints(command, output)
    os.kill(process.pid, number)
    process.wait(timeout=30)
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"processes left running after {number.name}: {alive}"
    if number == signal.SIGTERM:
        assert process.returncode == 143
        assert "resumes from its last checkpoint" in process.stderr.read().decode()
    for run in RUNS:
        assert not (output / run / THERMO_NAME).exists()   # not complete, not published
    # The same command again completes both runs from their checkpoints, with the thermo of
    # the uninterrupted runs.
    subprocess.run(command, check=True, capture_output=True)
    for run in RUNS:
        resumed, reference = _thermo(output, run), _thermo(uninterrupted, run)
        for name in ("potential_energy_ev", "temperature_k"):
            np.testing.assert_array_equal(resumed[name], reference[name])
