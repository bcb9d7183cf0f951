"""SIGTERM handled as Ctrl-C (``lifetime.terminate_as_interrupt``) also where it lands inside a
garbage-collector callback, where an exception is printed and ignored by Python: Dask's client
process has such a callback (distributed/gc.py), and a `mdinsim sqw --scheduler local:2`
signalled there went on computing (tests/sqw/test_cluster_lifetime.py failed in about half the
tries on a loaded machine)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import pytest

from mantid_mdinsim.lifetime import Terminated, interruption

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import gc, os, signal, time
from mantid_mdinsim.lifetime import Terminated, terminate_as_interrupt

def callback(phase, info):
    if phase == "start" and not sent:
        sent.append(1)
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):          # bytecode inside the callback: the handler runs here
            pass

sent = []
gc.callbacks.append(callback)
with terminate_as_interrupt():
    try:
        gc.collect()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.01)
        print("not terminated")
    except Terminated:
        print("terminated", len(sent))
"""


def test_a_sigterm_inside_a_gc_callback_still_terminates():
    completed = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                               text=True, timeout=60)
    assert completed.stdout.strip() == "terminated 1", completed.stdout + completed.stderr


#: A SIGTERM whose handler runs inside a finalizer (``__del__``), where Python prints and
#: ignores exceptions; then one inside a finalizer just as the block ends.
FINALIZER_SCRIPT = """
import os, signal, time
from mantid_mdinsim.lifetime import Terminated, terminate_as_interrupt

class Finalized:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):          # bytecode inside the finalizer: the handler runs here
            pass

for wait_s in (10, 0):
    try:
        with terminate_as_interrupt():
            Finalized()                # collected at once
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:
                time.sleep(0.01)
        print("not terminated")
    except Terminated:
        print("terminated")
"""


def test_a_sigterm_inside_a_finalizer_still_terminates():
    """Its Terminated is sent again (``sys.unraisablehook``), not printed and lost (the
    command would go on as if never signalled), also where the block ends before it is sent
    again."""
    completed = subprocess.run([sys.executable, "-c", FINALIZER_SCRIPT], cwd=ROOT,
                               capture_output=True, text=True, timeout=60)
    assert completed.stdout.split() == ["terminated", "terminated"], \
        completed.stdout + completed.stderr
    assert "Exception ignored" not in completed.stderr


END_SCRIPT = """
import atexit, sys, threading, time
from pathlib import Path
from mantid_mdinsim.lifetime import end_process

folder = Path(sys.argv[1])
atexit.register(lambda: (folder / "atexit").write_text("ran"))
if sys.argv[2] == "thread":
    def late():
        time.sleep(0.3)
        (folder / "thread").write_text("finished")
    threading.Thread(target=late).start()
sys.stdout.write("x" * 100000)        # piped: still in the buffer when end_process is called
sys.stderr.write("last words")
end_process(3)
print("not reached")
"""


def _end(tmp_path: Path, mode: str, *prefix: str) -> subprocess.CompletedProcess:
    script = tmp_path / "end.py"
    script.write_text(END_SCRIPT)
    return subprocess.run([sys.executable, *prefix, str(script), str(tmp_path), mode],
                          capture_output=True, text=True, timeout=60)


def test_end_process_runs_the_exit_handlers_and_flushes_the_output(tmp_path):
    """The ``mdinsim`` process ends without the interpreter's teardown
    (``lifetime.end_process``), yet with its exit status, every byte of its buffered output
    and its exit handlers (atexit: logging, multiprocessing's children, temporary folders)."""
    result = _end(tmp_path, "plain")
    assert result.returncode == 3
    assert result.stdout == "x" * 100000
    assert result.stderr == "last words"
    assert (tmp_path / "atexit").read_text() == "ran"


def test_end_process_keeps_the_full_teardown_where_it_is_needed(tmp_path):
    """A thread still running is waited for, and a profiler writes its file
    (``python -m cProfile -o``): there the process ends as Python ends it."""
    result = _end(tmp_path, "thread")
    assert result.returncode == 3
    assert (tmp_path / "thread").read_text() == "finished"
    assert (tmp_path / "atexit").read_text() == "ran"
    profile = tmp_path / "end.prof"
    result = _end(tmp_path, "plain", "-m", "cProfile", "-o", str(profile))
    assert "not reached" not in result.stdout   # SystemExit(3), which cProfile catches
    assert profile.stat().st_size > 0


def test_the_command_line_ends_with_its_exit_status(tmp_path):
    """``python -m mantid_mdinsim`` (the console script's ``console_main``): a bad input
    still exits with status 2 and its message."""
    result = subprocess.run([sys.executable, "-m", "mantid_mdinsim", "sqw",
                             str(tmp_path / "missing.xyz"), "--time-step-fs", "10",
                             "--output", str(tmp_path / "out.nxs"), "--no-plot"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "missing.xyz" in result.stderr and "Traceback" not in result.stderr


def test_an_error_raised_because_of_an_interrupt_is_that_interrupt():
    """``lifetime.interruption``: the SIGTERM or Ctrl-C behind an error that code between the
    signal and the command raised instead (pybind11's ImportError 'initialization failed' from
    it, a clean-up failing while it propagated), found through causes and contexts."""
    terminated = Terminated()
    converted = ImportError("initialization failed")
    converted.__cause__ = terminated
    assert interruption(converted) is terminated
    during_cleanup = RuntimeError("loop closed")
    during_cleanup.__context__ = converted
    assert interruption(during_cleanup) is terminated
    assert interruption(terminated) is terminated
    ctrl_c = KeyboardInterrupt()
    assert interruption(ValueError("a bug")) is None
    plain = ValueError("a bug")
    plain.__context__ = KeyError("handled")
    assert interruption(plain) is None
    cycle_a, cycle_b = ValueError("a"), ValueError("b")
    cycle_a.__context__, cycle_b.__context__ = cycle_b, cycle_a
    assert interruption(cycle_a) is None
    suppressed = ValueError("raised from None while handling Ctrl-C")
    suppressed.__context__, suppressed.__suppress_context__ = ctrl_c, True
    assert interruption(suppressed) is ctrl_c


#: The command (``console_main``, as ``python -m mantid_mdinsim``) with SIGTERM sent to itself
#: while it builds its parser: before the command ran under ``terminate_as_interrupt``, where
#: Python's default killed it (status -15) and left its plotting helper (forked before) running.
WHILE_STARTING = """
import os, signal, sys
from mantid_mdinsim import cli, plot_process

build_parser = cli.build_parser

def signalled(*args, **kwargs):
    helper = plot_process._early
    print("helper", helper._process.pid if helper and helper._process else None, flush=True)
    os.kill(os.getpid(), signal.SIGTERM)
    return build_parser(*args, **kwargs)

cli.build_parser = signalled
sys.argv = ["mdinsim", *sys.argv[1:]]
cli.console_main()
"""


def test_a_sigterm_while_the_command_starts_ends_it_as_ctrl_c(tmp_path):
    psutil = pytest.importorskip("psutil")
    result = subprocess.run([sys.executable, "-c", WHILE_STARTING, "sqw",
                             str(tmp_path / "run.xyz"), "--time-step-fs", "10",
                             "--output", str(tmp_path / "out.nxs")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 143, result.stderr
    assert "mdinsim sqw: terminated (SIGTERM)" in result.stderr
    assert "Traceback" not in result.stderr
    helper = result.stdout.split()[1]
    if helper != "None":      # the plotting helper forked at the start ends with the command
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(int(helper)).wait(timeout=20)   # TimeoutExpired: it outlived it
    assert not (tmp_path / "out.nxs").exists()
