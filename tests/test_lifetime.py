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
