"""S(q,w) on Dask: the same numbers in one process, on local:1, local:2 and a remote scheduler;
a killed worker, a scheduler that goes away, workers without the package or without the files.

The reference is the in-process streaming calculation (itself checked against dynasor and the
analytic harmonic crystal in test_reference_dynasor.py and test_harmonic_crystal.py). Stated
agreement: bitwise between any two cluster runs (fixed pieces, merged in a fixed order), and
bitwise with the in-process calculation of a single trajectory when both use one thread
(NUMBA_NUM_THREADS=1); otherwise S within 1e-12 relative and its errors within 1e-12 of the
largest S (the errors are differences of nearly equal samples).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from mantid_mdinsim.errors import Cancelled
from mantid_mdinsim.execution import ExecutionError
from mantid_mdinsim.progress import ProgressReporter
from mantid_mdinsim.sqw import compute_sqw

from ..dask_processes import DaskProcesses, kill_a_busy_worker, scheduler_and_workers
from .harmonic import HarmonicCrystal, write_extxyz

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning",
                                        "ignore::ResourceWarning")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two independent 27-atom runs of a two-species harmonic crystal, 300 frames each."""
    folder = tmp_path_factory.mktemp("distributed")
    paths = []
    for seed in (5, 6):
        crystal = HarmonicCrystal(cells=3, temperature_k=200.0, seed=seed,
                                  species=["Si" if i % 2 else "C" for i in range(27)])
        paths.append(str(write_extxyz(folder / f"run{seed}.xyz",
                                      crystal.positions(np.arange(300) * 10.0), crystal.cell,
                                      crystal.species, time_step_fs=10.0)))
    return paths


@pytest.fixture(scope="module")
def slow_run(tmp_path_factory):
    """64 atoms, 600 frames: pieces of about a second each with 400 q-points."""
    crystal = HarmonicCrystal(cells=4, temperature_k=200.0, seed=7)
    return str(write_extxyz(tmp_path_factory.mktemp("slow") / "slow.xyz",
                            crystal.positions(np.arange(600) * 10.0), crystal.cell,
                            crystal.species, time_step_fs=10.0))


def settings(paths, **changes):
    values = dict(trajectories=list(paths), time_step_fs=10.0, window=20, q_max_inv_angstrom=3.0,
                  q_count=300, per_q=True)
    values.update(changes)
    return values


SLOW = dict(window=20, q_max_inv_angstrom=4.0, q_count=400)


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    """`dask scheduler` + two `dask worker` processes on 127.0.0.1."""
    with scheduler_and_workers(tmp_path_factory.mktemp("dask")) as cluster:
        yield cluster


def assert_bitwise(first, second):
    assert first.parts.keys() == second.parts.keys()
    for name in first.parts:
        for a, b in zip(first.parts[name], second.parts[name]):
            assert np.array_equal(a, b, equal_nan=True), name
    assert first.logs["samples_for_errors"] == second.logs["samples_for_errors"]


def assert_close(result, reference, tolerance=1e-12):
    for name, (values, errors) in reference.parts.items():
        scale = np.nanmax(np.abs(values))
        other_values, other_errors = result.parts[name]
        assert np.nanmax(np.abs(other_values - values)) <= tolerance * scale, name
        assert np.nanmax(np.abs(other_errors - errors)) <= tolerance * scale, name
    assert np.array_equal(result.logs["frames_per_run"], reference.logs["frames_per_run"])
    assert result.logs["samples_for_errors"] == reference.logs["samples_for_errors"]
    assert result.logs["errors_method"] == reference.logs["errors_method"]


def test_in_process_local_1_and_remote_give_the_same_numbers(runs, remote):
    """(local:2 gives them too: the killed-worker test below.)"""
    one_run = settings(runs[:1])
    reference = compute_sqw(one_run)
    on_remote = compute_sqw(one_run, scheduler=remote.address)
    assert_bitwise(on_remote, compute_sqw(one_run, scheduler="local:1"))
    assert_close(on_remote, reference)
    assert on_remote.logs["samples_for_errors"] >= 2        # batches of the single run
    # two independent runs: their spread gives the errors
    both = settings(runs)
    assert_close(compute_sqw(both, scheduler=remote.address), compute_sqw(both))


def test_a_single_trajectory_is_bitwise_the_in_process_result_with_one_thread(runs, remote,
                                                                             tmp_path):
    """The in-process streaming calculation with one thread, in a fresh interpreter (numba's
    thread count is fixed at import)."""
    output = tmp_path / "reference.npz"
    code = ("import sys, numpy as np\n"
            "from mantid_mdinsim.sqw import compute_sqw\n"
            f"result = compute_sqw({settings(runs[:1])!r})\n"
            "np.savez(sys.argv[1], **{f'{n}|{k}': v for n, part in result.parts.items() "
            "for k, v in zip(('values', 'errors'), part)})\n")
    environment = dict(os.environ, NUMBA_NUM_THREADS="1")
    subprocess.run([sys.executable, "-c", code, str(output)], check=True, env=environment,
                   timeout=300)
    result = compute_sqw(settings(runs[:1]), scheduler=remote.address)
    with np.load(output) as reference:
        for name, (values, errors) in result.parts.items():
            assert np.array_equal(values, reference[f"{name}|values"], equal_nan=True), name
            assert np.array_equal(errors, reference[f"{name}|errors"], equal_nan=True), name


def test_progress_reaches_the_reporter_and_cancel_stops_the_pieces(runs, remote):
    fractions = []
    compute_sqw(settings(runs), ProgressReporter(lambda f, m: fractions.append(f)),
                scheduler=remote.address)
    assert fractions[-1] == 1.0
    assert np.all(np.diff(fractions) >= 0)
    assert any(0.0 < f < 0.98 for f in fractions)

    calls = []
    cancelling = ProgressReporter(lambda f, m: calls.append(f), lambda: len(calls) > 1)
    with pytest.raises(Cancelled):
        compute_sqw(settings(runs), cancelling, scheduler=remote.address)


def test_a_worker_killed_mid_run_costs_only_its_piece_on_local_2(slow_run, remote):
    """local:2 (started by the command); one of its workers is killed while it runs a piece:
    the piece reruns (the nanny restarts the worker) and the result is bitwise the remote
    scheduler's."""
    from mantid_mdinsim import execution

    values = settings([slow_run], **SLOW)
    reference = compute_sqw(values, scheduler=remote.address)
    killed = []

    def kill_once(fraction, message):
        if not killed and fraction > 0:
            address = kill_a_busy_worker(execution.active().client)
            if address:
                killed.append(address)

    result = compute_sqw(values, ProgressReporter(kill_once), scheduler="local:2")
    assert killed, "no worker was busy when the test tried to kill one"
    assert_bitwise(result, reference)


def test_a_scheduler_that_goes_away_keeps_completed_pieces_and_resumes(slow_run, tmp_path):
    values = settings([slow_run], **SLOW)
    checkpoint = tmp_path / "sqw.checkpoint.npz"
    pieces = tmp_path / "sqw.checkpoint.npz.pieces"
    cluster = DaskProcesses(tmp_path / "dask")
    try:
        address = cluster.start_scheduler()
        cluster.start_worker("only")
        cluster.wait_for_workers(1)

        def kill_after_a_piece(fraction, message):
            if pieces.is_dir() and any(pieces.glob("*.npz")):
                cluster.kill_scheduler()

        with pytest.raises(ExecutionError, match="lost the Dask scheduler"):
            compute_sqw(values, ProgressReporter(kill_after_a_piece), scheduler=address,
                        checkpoint=checkpoint)
        kept = sorted(pieces.glob("*.npz"))
        assert kept
        cluster.close()
        address = cluster.start_scheduler()
        cluster.start_worker("again")
        cluster.wait_for_workers(1)
        resumed_messages, fresh_messages = [], []
        resumed = compute_sqw(values, ProgressReporter(lambda f, m: resumed_messages.append(m)),
                              scheduler=address, checkpoint=checkpoint)
        reference = compute_sqw(values, ProgressReporter(lambda f, m: fresh_messages.append(m)),
                                scheduler=address)
    finally:
        cluster.close()
    assert_bitwise(resumed, reference)
    assert not pieces.exists()
    # the resumed run computed only the pieces that were not kept
    assert pieces_run(resumed_messages) == pieces_run(fresh_messages) - len(kept)


def pieces_run(messages):
    """The number of pieces sent to the cluster, from the progress messages ("k/n pieces")."""
    return max(int(m.split("/")[1].split()[0]) for m in messages if "pieces done" in m)


def test_workers_without_the_package_or_without_the_files_are_refused(runs, tmp_path):
    cluster = DaskProcesses(tmp_path / "dask")
    try:
        address = cluster.start_scheduler()
        worker = cluster.start_worker(
            "bare", preload="import sys\nsys.modules['mantid_mdinsim'] = None\n")
        cluster.wait_for_workers(1)
        with pytest.raises(ExecutionError, match="cannot import mantid_mdinsim"):
            compute_sqw(settings(runs[:1]), scheduler=address)
        worker.kill()
        worker.wait(timeout=30)
        # (the preload may run twice in the worker: keep the real isfile once)
        cluster.start_worker("blind", preload=(
            "import os.path\nreal = getattr(os.path, 'real_isfile', os.path.isfile)\n"
            "os.path.real_isfile = real\n"
            "os.path.isfile = lambda p: real(p) and not str(p).endswith('run6.xyz')\n"))
        cluster.wait_for_workers(1, names=("blind",))
        with pytest.raises(ExecutionError, match="run6.xyz: Dask worker .* does not see it"):
            compute_sqw(settings(runs), scheduler=address)
    finally:
        cluster.close()
