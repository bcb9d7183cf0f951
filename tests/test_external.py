"""Running external programs: a cancel stops the program and every process it started."""

from __future__ import annotations

import contextlib
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


# A command (as `mdinsim md` is) running _PARENT through run_program, SIGTERM handled as the
# CLI handles it.
_COMMAND = """
import contextlib
import sys
from pathlib import Path
from mantid_mdinsim.external import run_program
from mantid_mdinsim.lifetime import terminate_as_interrupt
with terminate_as_interrupt():
    run_program(Path(sys.executable), Path(sys.argv[1]), arguments=["-c", sys.argv[2]],
                log_name="program.log", poll_seconds=0.2)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
@pytest.mark.parametrize("number", ["SIGTERM", "SIGKILL"])
def test_a_killed_command_stops_its_external_program(tmp_path, number):
    import signal
    import subprocess

    command = subprocess.Popen([sys.executable, "-c", _COMMAND, str(tmp_path), _PARENT])
    deadline = time.monotonic() + 60.0
    while not ((tmp_path / "pids.txt").is_file() and (tmp_path / "pids.txt").read_text()):
        assert command.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    program = psutil.Process(command.pid).children()[0]
    grandchild = int((tmp_path / "pids.txt").read_text())
    command.send_signal(getattr(signal, number))
    command.wait(timeout=30)
    gone, alive = psutil.wait_procs([program], timeout=5.0)
    assert not alive, f"the external program outlived {number} of its command"
    if number == "SIGTERM":  # the whole process group is stopped, the program's child too
        deadline = time.monotonic() + 5.0
        while not _gone(grandchild) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(grandchild)
    else:  # the kernel tells only the program (its direct child); its own children are the
        # program's to stop (GPUMD and nep start none); this stand-in's is cleaned up here
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(grandchild).kill()
