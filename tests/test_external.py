"""Running external programs: a cancel stops the program and every process it started."""

from __future__ import annotations

import sys
from pathlib import Path
import time

import psutil
import pytest

from mantid_mdinsim.errors import Cancelled
from mantid_mdinsim.external import run_program

# A program that starts a child of its own (as neppo's data loaders or mpirun's ranks are)
# and writes both process ids, then works for a minute.
_PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open("pids.txt", "w").write(f"{child.pid}\\n")
time.sleep(60)
"""


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.skipif(sys.platform.startswith("win"), reason="process groups are POSIX")
def test_a_cancel_stops_the_program_and_its_children(tmp_path):
    calls = []

    def poll():
        calls.append(time.monotonic())
        if (tmp_path / "pids.txt").is_file() and (tmp_path / "pids.txt").read_text():
            raise Cancelled("cancelled by the user")

    started = time.monotonic()
    with pytest.raises(Cancelled):
        run_program(Path(sys.executable), tmp_path,
                    arguments=["-c", _PARENT], log_name="program.log", poll=poll,
                    poll_seconds=0.2)
    child = int((tmp_path / "pids.txt").read_text())
    deadline = time.monotonic() + 5.0
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(child), "the program's child outlived the cancel"
    assert time.monotonic() - started < 30.0  # stopped, not waited out (the program sleeps 60 s)
