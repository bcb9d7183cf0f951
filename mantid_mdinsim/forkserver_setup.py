"""Imported by the forkserver of local Dask workers only (its preload list,
:func:`~mantid_mdinsim.execution.prepare_local_workers`), never by the command itself.

A worker the command stopped wanting before it started exits without a traceback. When the
command is terminated while its cluster starts, the nanny (in the command's process) closes the
queues of a worker it has asked the forkserver for; their semaphores are removed, and the
forked worker, unpickling its process object a moment later, fails in
``SemLock._rebuild`` with FileNotFoundError, which the forkserver's child printed through
``sys.excepthook`` onto the command's error output, after its "terminated" message
(benchmarks/sigterm_storm.py: about one try in ten). Other errors are printed as before.
"""

from __future__ import annotations

import sys
from multiprocessing import synchronize

_printed = sys.excepthook


def abandoned(error: BaseException) -> bool:
    """Whether ``error`` is a worker's semaphore gone before the worker started: a
    FileNotFoundError raised in multiprocessing.synchronize (``SemLock.__setstate__``)."""
    if not isinstance(error, FileNotFoundError) or error.__traceback__ is None:
        return False
    traceback = error.__traceback__
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback.tb_frame.f_code.co_filename == synchronize.__file__


def excepthook(kind, error, traceback) -> None:
    if not abandoned(error):
        _printed(kind, error, traceback)


sys.excepthook = excepthook
