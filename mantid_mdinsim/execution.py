"""Where the pieces of a step run: in this process (the default), or on a Dask cluster.

A step splits its work into :class:`Piece` objects (a function and its arguments: one MD run, a
block of q-points and frames of S(q,w), one ensemble member, one displaced supercell) and hands
them to the :func:`active` executor, which returns their results **in the order of the pieces**
whatever the order they finish in, so that a step that merges them in that order gives numbers
that do not depend on the number of workers.

Executors (chosen with ``--scheduler`` / ``Scheduler``, default ``$MDINSIM_SCHEDULER``, else
``none``; parsed by :func:`parse_scheduler`):

* ``none``: in this process, one piece after the other (no Dask needed);
* ``local:N``: a :class:`distributed.LocalCluster` of N worker processes on 127.0.0.1, each
  running one piece at a time of ``--threads-per-worker`` threads, started and closed by the step;
* ``tcp://HOST:PORT``: an existing scheduler (``dask scheduler`` / ``dask worker``);
* ``slurm:N`` / ``pbs:N``: N batch jobs of :mod:`dask_jobqueue`, configured the Dask way
  (``~/.config/dask/jobqueue.yaml``: queue, account, cores, memory, walltime, GPUs per job).

Dask, not a scheduler of our own: it already restarts a piece whose worker died (up to
``distributed.scheduler.allowed-failures`` times), places pieces that ask for resources
(``GPU=1``) on workers that offer them, and runs on batch systems through dask-jobqueue.

Progress: pieces call :func:`piece_progress` for a reporter of their own share; on a worker its
reports travel to the client as Dask events (``log_event``), where they feed the step's
:class:`~mantid_mdinsim.progress.ProgressReporter` (the CLI bar or Mantid's ``Progress``).
Cancel (the reporter's cancellation) cancels the futures and sets a Dask ``Event`` that running
pieces see through the same reporter, so that MD runs checkpoint and stop.

Before any piece runs, every connected worker is probed (:func:`probe_workers`): it must import
this package (same version) and see the input files with the sizes the client sees (workers read
trajectories from a shared file system; nothing large goes through the scheduler).

dask and distributed (an optional extra, about 1 s to import) are imported in the functions that
use them: every step's ``--scheduler`` option imports this module, also for ``--help``.
"""

from __future__ import annotations

import abc
import contextlib
import contextvars
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from .errors import Cancelled, MdinsimError, ParameterError
from .parameters import Parameter
from .progress import ProgressReporter, ensure_progress

#: Environment variable holding the default of ``--scheduler``.
SCHEDULER_ENV = "MDINSIM_SCHEDULER"
GROUP = "Execution"

SCHEDULER_PARAMETERS = (
    Parameter("scheduler", str, "Where the pieces of work run: none (this process), local:N "
              "(N Dask worker processes on this machine), tcp://HOST:PORT (a running Dask "
              "scheduler), slurm:N or pbs:N (N batch jobs through dask-jobqueue, configured in "
              "jobqueue.yaml); default: $MDINSIM_SCHEDULER, else none", default=None,
              group=GROUP),
    Parameter("threads_per_worker", int, "Threads each piece uses on a worker (its BLAS, "
              "OpenMP and torch threads are limited to them); the workers of local:N run one "
              "piece at a time, N x threads cores in all", unit="threads", default=1,
              minimum=1, group=GROUP),
)
#: Names of the execution parameters: they never change a result, so they stay out of the
#: identity of checkpoints and resumable folders.
EXECUTION_NAMES = tuple(p.name for p in SCHEDULER_PARAMETERS)

#: Seconds to wait for a scheduler (tcp://) to answer, and for its first worker.
CONNECT_TIMEOUT_S = 20.0
WORKER_WAIT_S = 60.0
#: Longest wait between two looks at the futures (progress, cancellation); a finished piece
#: ends the wait at once (a fixed sleep added up to this to the end of every step).
POLL_S = 0.25


class ExecutionError(MdinsimError, RuntimeError):
    """The cluster could not be reached, lost, or cannot run the pieces (clear cause, fix)."""


# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SchedulerSpec:
    """A parsed ``--scheduler`` value."""

    kind: str                   # none | local | address | slurm | pbs
    workers: int = 0            # local:N, slurm:N, pbs:N
    address: str = ""           # tcp://HOST:PORT
    threads_per_worker: int = 1

    @property
    def distributed(self) -> bool:
        return self.kind != "none"

    def describe(self) -> str:
        if self.kind == "none":
            return "in-process"
        if self.kind == "address":
            return f"Dask scheduler {self.address}"
        return f"{self.kind}:{self.workers}"


def parse_scheduler(text: str | None, threads_per_worker: int = 1) -> SchedulerSpec:
    """The :class:`SchedulerSpec` of ``text`` (None: ``$MDINSIM_SCHEDULER``, else none)."""
    source = "scheduler"
    if text is None or not str(text).strip():
        text = os.environ.get(SCHEDULER_ENV, "")
        source = f"scheduler (from ${SCHEDULER_ENV})"
    value = str(text).strip()
    fix = ("give none, local:N, tcp://HOST:PORT, slurm:N or pbs:N (N a whole number of "
           "workers or jobs, at least 1)")
    if value in ("", "none"):
        return SchedulerSpec("none", threads_per_worker=threads_per_worker)
    if value.startswith(("tcp://", "tls://", "ucx://", "inproc://")):
        rest = value.split("://", 1)[1]
        host, _, port = rest.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ParameterError(source, f"'{value}' is not an address of the form "
                                 "tcp://HOST:PORT", "give the address `dask scheduler` prints, "
                                 "e.g. tcp://10.0.0.5:8786")
        return SchedulerSpec("address", address=value, threads_per_worker=threads_per_worker)
    kind, _, count = value.partition(":")
    if kind in ("local", "slurm", "pbs"):
        if not count.isdigit() or int(count) < 1:
            raise ParameterError(source, f"'{value}': the number after '{kind}:' must be a "
                                 "whole number >= 1", fix)
        return SchedulerSpec(kind, workers=int(count), threads_per_worker=threads_per_worker)
    raise ParameterError(source, f"'{value}' is not a scheduler", fix)


# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Piece:
    """One task: ``function(*args, **kwargs)``, run in this process or on a worker.

    ``key`` names it (unique within a step, stable between runs); ``weight`` is its share of the
    step's progress; ``resources`` are Dask worker resources it needs (``{"GPU": 1}``).
    The function and arguments must be picklable (they cross to worker processes).
    """

    key: str
    function: Callable[..., Any]
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    weight: float = 1.0
    resources: Mapping[str, float] | None = None


@dataclass(frozen=True)
class PieceTiming:
    """Where and for how long one piece ran: what a scaling benchmark needs to tell the
    pieces' own work from the serial parts and the cluster's overhead (docs/scaling.md)."""

    key: str
    worker: str                 # "in-process", or the Dask worker's address
    start: float                # time.time() when it started (the worker's clock)
    wall_s: float
    cpu_s: float                # processor seconds of the thread that ran it


def _timed(function: Callable[..., Any], args: tuple, kwargs: Mapping[str, Any], key: str,
           worker: str) -> tuple[Any, PieceTiming]:
    start, wall, cpu = time.time(), time.perf_counter(), time.thread_time()
    result = function(*args, **kwargs)
    return result, PieceTiming(key, worker, start, time.perf_counter() - wall,
                               time.thread_time() - cpu)


_piece_reporter = threading.local()


def piece_progress() -> ProgressReporter:
    """The reporter of the running piece (its own fraction [0, 1]); cancellation through it
    raises :class:`~mantid_mdinsim.errors.Cancelled`. Outside a piece: a silent one."""
    return getattr(_piece_reporter, "reporter", None) or ProgressReporter()


@contextlib.contextmanager
def _as_piece(reporter: ProgressReporter) -> Iterator[None]:
    previous = getattr(_piece_reporter, "reporter", None)
    _piece_reporter.reporter = reporter
    try:
        yield
    finally:
        _piece_reporter.reporter = previous


class Executor(abc.ABC):
    """Runs pieces; results in piece order."""

    spec: SchedulerSpec
    #: One :class:`PieceTiming` per piece run, in the order they finished.
    timings: list[PieceTiming]

    @abc.abstractmethod
    def run(self, pieces: Sequence[Piece], progress: ProgressReporter | None = None,
            on_result: Callable[[int, Any], None] | None = None,
            input_files: Sequence[str | os.PathLike] = ()) -> list[Any]:
        """Run ``pieces``; ``on_result(index, result)`` is called as each completes (to keep
        completed work); ``input_files`` must be visible to whoever runs them."""

    def close(self) -> None:
        """Release the cluster, if one was started."""


class InProcessExecutor(Executor):
    """The pieces one after the other in this process."""

    def __init__(self, threads_per_worker: int = 1):
        self.spec = SchedulerSpec("none", threads_per_worker=threads_per_worker)
        self.timings = []

    def run(self, pieces, progress=None, on_result=None, input_files=()):
        progress = ensure_progress(progress)
        total = sum(p.weight for p in pieces) or 1.0
        done, results = 0.0, []
        for index, piece in enumerate(pieces):
            share = progress.sub(done / total, (done + piece.weight) / total)
            with _as_piece(share):
                result, timing = _timed(piece.function, piece.args, piece.kwargs, piece.key,
                                        "in-process")
            self.timings.append(timing)
            results.append(result)
            if on_result is not None:
                on_result(index, result)
            done += piece.weight
            progress.report(done / total, f"{index + 1}/{len(pieces)} pieces done")
        return results


# -- Dask ---------------------------------------------------------------------------------------
_PROBE_SOURCE = '''
def probe(paths):
    import os, socket
    report = {"host": socket.gethostname(), "version": None, "problem": None, "sizes": {}}
    try:
        import mantid_mdinsim
        report["version"] = mantid_mdinsim.__version__
    except Exception as error:
        report["problem"] = f"{type(error).__name__}: {error}"
    for path in paths:
        report["sizes"][path] = os.path.getsize(path) if os.path.isfile(path) else None
    return report
'''


def _probe_function() -> Callable[[list[str]], dict]:
    """The worker probe, built outside any importable module so that cloudpickle sends its code
    (a worker without this package can still run it and say so)."""
    namespace: dict[str, Any] = {"__name__": "mdinsim_worker_probe"}
    exec(compile(_PROBE_SOURCE, "<mdinsim worker probe>", "exec"), namespace)
    return namespace["probe"]


class _Transported(Exception):
    """An mdinsim error raised on a worker, carried back intact (their constructors take more
    than the message, which plain pickling of exceptions does not replay)."""

    def __init__(self, error_type: type, args: tuple, state: dict):
        super().__init__(error_type, args, state)

    def restore(self) -> BaseException:
        error_type, args, state = self.args
        error = error_type.__new__(error_type)
        error.args = args
        error.__dict__.update(state)
        return error


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a SLURM allocation's; the
    machine's cores where the platform cannot say)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


#: Threads a text trajectory reader may parse frames on (None: every core of the process). Set by
#: :func:`thread_limits` for the piece running in this thread (a context variable, so pieces
#: running side by side in one worker each keep their own limit).
READER_THREADS: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "mdinsim_reader_threads", default=None)


@contextlib.contextmanager
def thread_limits(threads: int) -> Iterator[None]:
    """The numeric thread pools of this process limited to ``threads`` inside the block: BLAS
    and OpenMP (threadpoolctl), and torch's where loaded.

    On a worker a piece uses the threads it was given (``--threads-per-worker``), no more (a
    node's 64 cores for each of 64 single-threaded pieces) and no fewer (Dask's nanny sets
    OMP_NUM_THREADS=1 in every worker it starts: ``distributed.nanny.pre-spawn-environ``).
    The text readers' frame parsing (:data:`READER_THREADS`) too.
    numba is left alone: no kernel here has a parallel region, and asking numba for its thread
    count starts its thread pool (local workers get NUMBA_NUM_THREADS, see
    :data:`THREAD_VARIABLES`). The in-process path does not use this: a step uses every core.
    """
    from threadpoolctl import threadpool_limits  # only pieces that run on a worker limit threads

    torch = sys.modules.get("torch")
    previous_torch = torch.get_num_threads() if torch is not None else None
    reader_token = READER_THREADS.set(threads)
    with threadpool_limits(limits=threads):
        try:
            if torch is not None:
                torch.set_num_threads(threads)
            yield
        finally:
            if previous_torch is not None:
                torch.set_num_threads(previous_torch)
            READER_THREADS.reset(reader_token)


def _run_on_worker(function, args, kwargs, key: str, topic: str, stop_name: str,
                   threads: int = 1):
    """A piece on a Dask worker, its thread pools limited to ``threads``: its reporter sends
    events, and sees the stop Event. Returns its result and :class:`PieceTiming`."""
    from distributed import Event, get_worker  # optional, slow import

    worker = get_worker()
    stop = Event(stop_name)
    last = {"sent": 0.0, "checked": 0.0, "stopped": False}

    def callback(fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - last["sent"] >= 0.5 or fraction >= 1.0:
            last["sent"] = now
            worker.log_event(topic, {"key": key, "fraction": float(fraction),
                                     "message": message})

    def is_cancelled() -> bool:
        now = time.monotonic()
        if not last["stopped"] and now - last["checked"] >= 1.0:
            last["checked"] = now
            last["stopped"] = bool(stop.is_set())
        return last["stopped"]

    try:
        with _as_piece(ProgressReporter(callback, is_cancelled)), thread_limits(threads):
            return _timed(function, args, kwargs, key, worker.address)
    except MdinsimError as error:
        raise _Transported(type(error), error.args, dict(error.__dict__)) from None


def _connection_lost(error: BaseException) -> bool:
    from distributed.comm.core import CommClosedError  # optional, slow import

    return isinstance(error, (CommClosedError, OSError, TimeoutError)) or \
        type(error).__name__ in ("CancelledError", "FutureCancelledError")


class DaskExecutor(Executor):
    """Pieces as Dask futures on a cluster (started here for local/slurm/pbs)."""

    def __init__(self, spec: SchedulerSpec, notify: Callable[[str], None] | None = None,
                 preload: Sequence[str] = ()):
        self.spec = spec
        self.preload = tuple(preload)
        self.notify = notify or (lambda text: print(text, file=sys.stderr, flush=True))
        self.cluster = None
        self.client = None
        self._probed: set[str] = set()
        self.timings = []
        self._saved_environment: dict[str, str | None] | None = None
        self._start()

    # -- set-up ---------------------------------------------------------------------------
    def _start(self) -> None:
        if self.spec.kind == "local":
            prepare(f"local:{self.spec.workers}", self.spec.threads_per_worker, self.preload)
        try:
            from distributed import Client  # optional, slow import
        except ImportError:
            raise ExecutionError(f"--scheduler {self.spec.describe()} needs Dask: install "
                                 "mantid-mdinsim[distributed] (dask[distributed], "
                                 "dask-jobqueue)") from None
        spec = self.spec
        try:
            if spec.kind == "local":
                self._saved_environment = _environment()
                clusters_before = _spec_clusters()
                try:
                    self.cluster = make_local_cluster(spec.workers, spec.threads_per_worker,
                                                      self.preload)
                except KeyboardInterrupt:   # SIGTERM or Ctrl-C while it started
                    _close_unfinished(clusters_before)
                    raise
                finally:
                    _restore_environment(self._saved_environment)
            elif spec.kind in ("slurm", "pbs"):
                self.cluster = make_jobqueue_cluster(spec.kind)
                self.cluster.scale(jobs=spec.workers)
            if self.cluster is not None:
                self.client = Client(self.cluster, set_as_default=False)
            else:
                self.client = Client(spec.address, timeout=CONNECT_TIMEOUT_S,
                                     set_as_default=False)
        except (OSError, TimeoutError) as error:
            self.close()
            where = spec.address or spec.describe()
            raise ExecutionError(
                f"cannot reach the Dask scheduler at {where} ({type(error).__name__}: "
                f"{error}); start one with `dask scheduler` and workers with `dask worker "
                f"{where}`, or give another --scheduler (none runs in this process)") from None
        self.notify(f"Dask scheduler {self.client.scheduler.address}; {_dashboard(self.client)}")
        if spec.kind in ("local", "address"):
            try:
                self.client.wait_for_workers(1, timeout=WORKER_WAIT_S)
            except (TimeoutError, OSError):
                self.close()
                raise ExecutionError(
                    f"the Dask scheduler {self.spec.address} has no workers after "
                    f"{WORKER_WAIT_S:g} s; start some with `dask worker {self.spec.address}` "
                    "(with --resources GPU=1 on GPU nodes)") from None

    def close(self) -> None:
        for item in (self.client, self.cluster):
            if item is not None:
                with contextlib.suppress(Exception):
                    item.close()
        self.client = self.cluster = None
        if self._saved_environment is not None:   # a restarted worker's nanny wrote it again
            _restore_environment(self._saved_environment)

    # -- checks ---------------------------------------------------------------------------
    def probe_workers(self, input_files: Sequence[str | os.PathLike] = ()) -> None:
        """Every connected worker must import this package (same version) and see the input
        files with the sizes seen here."""
        from . import __version__  # import cycle via the root

        paths = sorted({str(Path(p).resolve()) for p in input_files} - self._probed)
        expected = {p: os.path.getsize(p) for p in paths if os.path.isfile(p)}
        try:
            reports = self.client.run(_probe_function(), paths, on_error="return")
        except Exception as error:  # noqa: BLE001
            if _connection_lost(error):
                raise self._lost(error) from None
            raise ExecutionError(f"the Dask workers of {self.spec.describe()} could not be "
                                 f"probed ({type(error).__name__}: {error}); check their logs "
                                 "and Python environment") from None
        for worker, report in sorted(reports.items()):
            if isinstance(report, BaseException):
                raise ExecutionError(f"Dask worker {worker} could not run the mdinsim probe "
                                     f"({type(report).__name__}: {report}); check the "
                                     "worker's Python environment")
            if report["version"] is None:
                raise ExecutionError(
                    f"Dask worker {worker} (host {report['host']}) cannot import mantid_mdinsim "
                    f"({report['problem']}); install mantid-mdinsim {__version__} in the "
                    "workers' Python environment (the same one as here)")
            if report["version"] != __version__:
                raise ExecutionError(
                    f"Dask worker {worker} (host {report['host']}) has mantid_mdinsim "
                    f"{report['version']}, this process {__version__}; install the same version")
            for path, size in report["sizes"].items():
                if size != expected.get(path):
                    seen = "does not see it" if size is None else f"sees {size} bytes, not " \
                        f"{expected.get(path)}"
                    raise ExecutionError(
                        f"{path}: Dask worker {worker} (host {report['host']}) {seen}; workers "
                        "read the input files themselves, so put them on a file system that "
                        "all workers share (same path), or use --scheduler none")
        self._probed.update(paths)

    def check_resources(self, resources: Mapping[str, float]) -> None:
        """Refuse pieces that need a resource no worker offers (they would wait forever),
        except on batch clusters whose workers are still queued."""
        if not resources or self.spec.kind in ("slurm", "pbs"):
            return
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        for name, amount in resources.items():
            if not any(w.get("resources", {}).get(name, 0) >= amount for w in workers.values()):
                raise ExecutionError(
                    f"no Dask worker of {self.spec.describe()} offers the resource {name}="
                    f"{amount:g} these pieces need; start the workers on GPU nodes with "
                    f"`dask worker ... --resources {name}={amount:g}` (one per GPU)")

    def _lost(self, error: BaseException) -> ExecutionError:
        return ExecutionError(
            f"lost the Dask scheduler {self.spec.describe()} ({type(error).__name__}: {error}); "
            "completed pieces are kept: start the command again (with a running scheduler) "
            "to resume")

    # -- running --------------------------------------------------------------------------
    def run(self, pieces, progress=None, on_result=None, input_files=()):
        from distributed import Event  # optional, slow import
        from distributed.scheduler import KilledWorker  # optional, slow import

        progress = ensure_progress(progress)
        if not pieces:
            return []
        self.probe_workers(input_files)
        needed: dict[str, float] = {}
        for piece in pieces:
            for name, amount in (piece.resources or {}).items():
                needed[name] = max(needed.get(name, 0.0), amount)
        self.check_resources(needed)

        token = uuid.uuid4().hex[:12]
        topic, stop_name = f"mdinsim-progress-{token}", f"mdinsim-stop-{token}"
        partial: dict[str, float] = {}
        lock = threading.Lock()

        def on_event(event) -> None:
            _, message = event
            with lock:
                partial[message["key"]] = message["fraction"]

        self.client.subscribe_topic(topic, on_event)
        futures = []
        for index, piece in enumerate(pieces):
            futures.append(self.client.submit(
                _run_on_worker, piece.function, piece.args, dict(piece.kwargs),
                f"{piece.key}-{token}", topic, stop_name, self.spec.threads_per_worker,
                key=f"{piece.key}-{token}",
                resources=dict(piece.resources) if piece.resources else None, pure=False,
                priority=-index))
        order = {future.key: index for index, future in enumerate(futures)}
        results: list[Any] = [None] * len(pieces)
        finished: set[int] = set()
        total = sum(p.weight for p in pieces) or 1.0
        pending = set(futures)
        finished_one = threading.Event()
        for future in futures:
            future.add_done_callback(lambda _: finished_one.set())
        try:
            while pending:
                done = {future for future in pending if future.done()}
                pending -= done
                if not done:
                    finished_one.wait(POLL_S)
                    finished_one.clear()
                for future in done:
                    index = order[future.key]
                    try:
                        results[index], timing = future.result()
                    except _Transported as error:
                        raise error.restore() from None
                    except KilledWorker as error:
                        raise ExecutionError(
                            f"piece {pieces[index].key} lost its worker repeatedly ({error}); "
                            "each loss reruns it elsewhere, up to the scheduler's "
                            "allowed-failures; completed pieces are kept: start again to "
                            "resume") from None
                    finished.add(index)
                    self.timings.append(replace(timing, key=pieces[index].key))
                    if on_result is not None:
                        on_result(index, results[index])
                with lock:
                    running = sum(pieces[i].weight * partial.get(f.key, 0.0)
                                  for f, i in _order_items(order, futures) if i not in finished)
                fraction = (sum(pieces[i].weight for i in finished) + running) / total
                progress.report(min(fraction, 1.0), f"{len(finished)}/{len(pieces)} pieces "
                                f"done on {self.spec.describe()}")
        except Cancelled:
            with contextlib.suppress(Exception):
                Event(stop_name, client=self.client).set()
                self.client.cancel(list(pending))
            raise
        except MdinsimError:
            with contextlib.suppress(Exception):
                self.client.cancel(list(pending))
            raise
        except Exception as error:  # noqa: BLE001
            if _connection_lost(error):
                raise self._lost(error) from None
            raise
        finally:
            with contextlib.suppress(Exception):
                self.client.unsubscribe_topic(topic)
        return results


def _spec_clusters() -> set:
    """Dask's clusters of this process (``SpecCluster._instances``, which Dask's exit handler
    closes: ``close_clusters`` in distributed/deploy/spec.py)."""
    from distributed.deploy.spec import SpecCluster  # optional, slow import

    return set(SpecCluster._instances)


def _close_unfinished(before: set) -> None:
    """Close the clusters made since ``before`` (one whose start was interrupted, which no
    one holds), errors ignored, and take them from Dask's exit handler: it closed them at the
    command's exit, where Dask's assertion that their workers had stopped failed (a traceback
    after the "terminated" message: benchmarks/sigterm_storm.py)."""
    from distributed.deploy.spec import SpecCluster  # optional, slow import

    for cluster in _spec_clusters() - before:
        SpecCluster._instances.discard(cluster)
        with contextlib.suppress(Exception):
            cluster.close(timeout=10)


def _order_items(order: dict, futures: list) -> Iterator[tuple[Any, int]]:
    for future in futures:
        yield future, order[future.key]


def _dashboard(client) -> str:
    try:
        import bokeh  # noqa: F401  - the dashboard is served only with bokeh
    except ImportError:
        return "dashboard: not served (install bokeh>=3.1 for it)"
    return f"dashboard: {client.dashboard_link}"


#: The thread counts Dask's nanny sets in the workers it starts (its
#: ``distributed.nanny.pre-spawn-environ``: 1 each), and numba's; local:N gives them
#: --threads-per-worker.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "NUMBA_NUM_THREADS")


def make_local_cluster(n_workers: int, threads_per_worker: int = 1,
                       preload: Sequence[str] = ()):
    """A LocalCluster of ``n_workers`` worker processes on 127.0.0.1, each running one piece at
    a time with ``threads_per_worker`` threads: N x threads cores in all (a worker of T Dask
    threads would run T pieces of T threads each). Each worker offers ``GPU=1`` (so that GPUMD
    runs go one per worker; limit the GPUs a worker sees with CUDA_VISIBLE_DEVICES).

    On Linux the workers are forked from a forkserver that has imported ``preload`` (see
    :func:`prepare_local_workers`), elsewhere spawned (Dask's default)."""
    import dask  # optional, slow import
    from distributed import LocalCluster  # optional, slow import

    environ = _worker_environ(threads_per_worker)
    method = prepare_local_workers(threads_per_worker, preload)
    options: dict[str, Any] = {}
    if method == "forkserver":
        # a forked worker has the forkserver's environment: the nanny sets this process's
        # present one in it (as a spawned worker would inherit it), but for the variables
        # that act at start-up, which the forkserver had already (checked)
        options["env"] = {name: value for name, value in os.environ.items()
                          if name not in environ}
    lazy = _bokeh_installed()
    if lazy:   # the address is served at once, the dashboard loaded on its first request
        options["scheduler_kwargs"] = {"dashboard": False}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ,
                          "distributed.worker.multiprocessing-method": method,
                          **_quiet_bookkeeping()}):
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address="127.0.0.1:0",
                               resources={"GPU": 1}, silence_logs=40, **options)
    if lazy:
        load_dashboard_on_request(cluster.scheduler)
    return cluster


def _bokeh_installed() -> bool:
    """bokeh is there to serve the dashboard, and distributed's HTTP application takes
    applications added later (else Dask's own start-up, dashboard included, is used)."""
    import importlib.util

    from distributed.http.routing import RoutingApplication  # optional, slow import

    return (importlib.util.find_spec("bokeh") is not None
            and hasattr(RoutingApplication, "add_application"))


def load_dashboard_on_request(scheduler, prefix: str = "/") -> None:
    """Serve the Dask dashboard of ``scheduler`` (started with ``dashboard=False``: its HTTP
    server, with the health, metrics and JSON routes, already listening at the address the
    command prints) from the first request for a page it does not know: that request imports
    the dashboard (bokeh) in a thread, connects it as Dask's scheduler does at start-up, and is
    redirected to the same address, now served by it.

    Why: importing the dashboard costs 0.6 (idle) to 1.0 processor-s (loaded) in the process of
    a local cluster's scheduler, the client's, at every ``local:N`` command, before its first
    piece can start (docs/scaling.md). It is now paid by who opens the dashboard, once, when
    they do (the page answers after that import); a command nobody watches does not pay it.
    """
    from tornado import web  # distributed's own dependency

    state: dict[str, Any] = {"loading": None}

    async def load() -> None:
        import asyncio
        import importlib

        if state["loading"] is None:
            async def attach() -> None:
                module = await asyncio.get_running_loop().run_in_executor(
                    None, importlib.import_module, "distributed.dashboard.scheduler")
                scheduler.http_application.applications.remove(loader)
                module.connect(scheduler.http_application, scheduler.http_server, scheduler,
                               prefix=prefix)
            state["loading"] = asyncio.ensure_future(attach())
        await asyncio.shield(state["loading"])

    class LoadDashboard(web.RequestHandler):
        async def get(self, *_: Any) -> None:
            await load()
            self.redirect(self.request.uri)

    loader = web.Application([(r"/.*", LoadDashboard)])
    # consulted after the scheduler's own routes (RoutingApplication), so those answer as before
    scheduler.http_application.add_application(loader)


#: Dask's own periodic bookkeeping, as Dask ships it, and what local clusters use instead: the
#: statistical profiler of each worker (a stack sample every 10 ms, for the dashboard's Profile
#: page) off; the event loops' health tick (each server: scheduler, nannies, workers) every
#: 500 ms instead of 20 ms (an event loop blocked longer than ``tick.limit``, 3 s, is still
#: reported); the system monitor (each server's processor, memory and network figures for the
#: dashboard's System page and the heartbeats) every 2 s instead of 0.5 s; the memory monitor
#: (each nanny and worker reads its process's size to pause, spill or restart at Dask's memory
#: fractions) every second instead of every 0.1 s (a worker past its limit is still stopped, a
#: second later at most). On a machine whose every core runs a piece this bookkeeping takes
#: processor time from the pieces (on local:1 it runs on a free core): measured here, a worker
#: busy with a Python piece spent 5 % of its wall time outside the piece and the client process
#: 4.5 %; with the first two, 1.1-1.4 % and 1.8-3.3 %; with all four, 0.5-0.6 % and 1.3-1.5 %
#: (docs/scaling.md). A value other than Dask's default set in Dask's configuration is kept.
_DASK_BOOKKEEPING = {"distributed.worker.profile.enabled": (True, False),
                     "distributed.admin.tick.interval": ("20ms", "500ms"),
                     "distributed.admin.system-monitor.interval": ("500ms", "2s"),
                     "distributed.worker.memory.monitor-interval": ("100ms", "1s")}


def _quiet_bookkeeping() -> dict[str, Any]:
    """The settings of :data:`_DASK_BOOKKEEPING` whose value is still Dask's default."""
    import dask  # optional, slow import

    return {name: quiet for name, (shipped, quiet) in _DASK_BOOKKEEPING.items()
            if dask.config.get(name, None) == shipped}


def _worker_environ(threads_per_worker: int) -> dict[str, str]:
    """What must be in the environment of a local worker process from its start (the nanny
    writes it before it starts one): Dask's ``distributed.nanny.pre-spawn-environ`` with the
    thread counts of ``threads_per_worker``, and the hash seed the nanny gives its workers."""
    import dask  # optional, slow import

    environ = {name: str(value) for name, value in
               dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()}
    environ.update({name: str(threads_per_worker) for name in THREAD_VARIABLES})
    environ.setdefault("PYTHONHASHSEED", os.environ.get("PYTHONHASHSEED", "6640"))
    return environ


#: The environment the forkserver of local workers started with (None: not started). Python
#: starts one per process; its children get its environment.
_forkserver_environ: dict[str, str] | None = None


def prepare_local_workers(threads_per_worker: int = 1, preload: Sequence[str] = ()) -> str:
    """Start (without waiting) the forkserver that local workers are forked from, with the
    modules ``preload`` imported, and return the start method for them: ``forkserver``, else
    ``spawn`` (Dask's default) off Linux, where the configuration asks for another method, or
    where the forkserver already runs with start-up variables other than the workers need now
    (other threads per worker), or with a variable removed since.

    Why: a spawned worker starts Python, imports Dask and, in its first piece, this package and
    the step's libraries (numba's kernels, calorine): 1 to 3 processor-s per worker, each worker
    anew, and its interpreter's shutdown adds about a second to closing the cluster. Forked
    from a forkserver that imported them once, a worker starts in milliseconds with them loaded
    and exits at once. Forking this process instead would be unsafe (its other threads may hold
    locks); the forkserver is a fresh single-threaded process, which stays (idle) until this
    process ends, for the next cluster. Calling this early (:func:`prepare`, before a step's
    own checks) lets the forkserver's imports overlap them.
    """
    global _forkserver_environ
    import multiprocessing  # only the local forkserver needs it
    from multiprocessing import forkserver  # only the local forkserver needs it

    import dask  # optional, slow import

    _distributed_configuration()
    configured = dask.config.get("distributed.worker.multiprocessing-method")
    if sys.platform != "linux" or configured != "spawn":
        return configured
    environ = _worker_environ(threads_per_worker)
    if _forkserver_environ is not None:
        same = all(_forkserver_environ.get(name) == value for name, value in environ.items())
        removed = set(_forkserver_environ) - set(os.environ) - set(environ)
        return "forkserver" if same and not removed else "spawn"
    saved = _environment()
    try:
        os.environ.update(environ)
        multiprocessing.get_context("forkserver").set_forkserver_preload(
            ["distributed", "distributed.nanny", "distributed.worker", __name__,
             # its workers' quiet end when the command drops them unstarted (terminated)
             "mantid_mdinsim.forkserver_setup", *preload])
        forkserver.ensure_running()
        _forkserver_environ = dict(os.environ)
    finally:
        _restore_environment(saved)
    # Dask sets its own preload list on first use, importing its optional packages (pandas,
    # bokeh, ...) into this process for it; the forkserver runs already: skip that
    import distributed.utils  # optional, slow import

    distributed.utils._forkserver_preload_set = True
    return "forkserver"


def _distributed_configuration() -> None:
    """Dask's configuration with distributed's defaults (start method, pre-spawn-environ),
    without importing distributed where it is not yet imported: its defaults file loaded the
    way distributed's own ``distributed.config`` loads it (``dask.config.update_defaults``).

    Why: importing distributed takes the client about 0.6 processor-s (0.9 under load) more
    than Dask's configuration; reading the defaults instead lets the forkserver start that much
    earlier, its loading overlapping the client's own imports (docs/scaling.md). Where the file
    is not where distributed keeps it, distributed is imported (as before)."""
    import importlib.util

    import dask  # optional, slow import

    if "distributed" in sys.modules:
        return
    spec = importlib.util.find_spec("distributed")
    if spec is None:
        raise ImportError("distributed is not installed")
    folders = list(spec.submodule_search_locations or ())
    defaults = Path(folders[0], "distributed.yaml") if folders else None
    if defaults is None or not defaults.is_file():
        import distributed  # noqa: F401  - its configuration, the usual way
        return
    import yaml  # Dask's own dependency

    with open(defaults) as handle:
        dask.config.update_defaults(yaml.safe_load(handle))


def prepare(scheduler: str | None = None, threads_per_worker: int = 1,
            preload: Sequence[str] = ()) -> None:
    """For ``local:N``: start preparing the workers now (:func:`prepare_local_workers`), so that
    their loading overlaps what the step does before its :func:`session`. Else nothing."""
    with contextlib.suppress(MdinsimError):   # a bad value is reported by session()
        if parse_scheduler(scheduler, threads_per_worker).kind == "local":
            with contextlib.suppress(ImportError):   # no Dask: session() says so
                prepare_local_workers(threads_per_worker, preload)


def _environment() -> dict[str, str | None]:
    """This process's values of the variables Dask's nanny overwrites before it spawns a worker
    (``distributed.nanny.pre-spawn-environ``, the hash seed)."""
    names = set(_worker_environ(1))
    return {name: os.environ.get(name) for name in names}


def _restore_environment(saved: Mapping[str, str | None]) -> None:
    """Undo the nanny's writes (OMP_NUM_THREADS=1, ...) to this process's environment, so that
    what runs here after a local cluster started (in-process steps, programs started later, the
    rest of a Mantid session) keeps every core."""
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def make_jobqueue_cluster(kind: str, **overrides: Any):
    """A dask-jobqueue SLURMCluster or PBSCluster, configured from Dask's configuration
    (``jobqueue.slurm`` / ``jobqueue.pbs`` in ``~/.config/dask/jobqueue.yaml``); ``overrides``
    are keyword arguments of the cluster class."""
    try:
        import dask_jobqueue  # optional, slow import
    except ImportError:
        raise ExecutionError(f"--scheduler {kind}:N needs dask-jobqueue: install "
                             "mantid-mdinsim[distributed]") from None
    cluster_class = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}[kind]
    try:
        return cluster_class(**overrides)
    except ValueError as error:
        raise ExecutionError(f"dask-jobqueue cannot configure the {kind} jobs ({error}); set "
                             f"cores and memory in jobqueue.yaml under jobqueue: {kind}: (see "
                             "the README's example)") from None


# -- the active executor --------------------------------------------------------------------------
_active: contextvars.ContextVar[Executor | None] = contextvars.ContextVar(
    "mdinsim_executor", default=None)


def active() -> Executor:
    """The executor of the current :func:`session`, else an in-process one."""
    return _active.get() or InProcessExecutor()


@contextlib.contextmanager
def session(scheduler: str | None = None, threads_per_worker: int = 1,
            notify: Callable[[str], None] | None = None,
            preload: Sequence[str] = ()) -> Iterator[Executor]:
    """The executor for ``scheduler`` (see :func:`parse_scheduler`), active inside the block;
    ``preload``: modules the step's pieces import, loaded once for all local workers (see
    :func:`prepare_local_workers`).

    Inside a session that is already active (``mdinsim predict`` running its steps), the same
    executor is used where the scheduler is the same or not given, so a cluster starts once.
    """
    spec = parse_scheduler(scheduler, threads_per_worker)
    current = _active.get()
    if current is not None and (scheduler is None or current.spec == spec):
        yield current
        return
    executor = (DaskExecutor(spec, notify, preload) if spec.distributed
                else InProcessExecutor(threads_per_worker))
    token = _active.set(executor)
    try:
        yield executor
    finally:
        _active.reset(token)
        executor.close()
