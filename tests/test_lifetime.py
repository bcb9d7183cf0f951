"""SIGTERM handled as Ctrl-C (``lifetime.terminate_as_interrupt``) also where it lands inside a
garbage-collector callback, where an exception is printed and ignored by Python: Dask's client
process has such a callback (distributed/gc.py), and a `mdinsim sqw --scheduler local:2`
signalled there went on computing (tests/sqw/test_cluster_lifetime.py failed in about half the
tries on a loaded machine)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
