"""Cancel pressed while an algorithm waits: on two CPU MD worker processes (MDRunGPUMD) and on
neppo training in a child process (MDTrainNEP). Both runs are long enough that the next
percent of progress is far away, so only an interruption point in the waiting loop stops them
in time (Mantid's ProgressBase notifies, and passes its interruption point, only every 1 % by
default). The algorithm must stop within seconds, leave no output under its final name, and
the MD runs must resume exactly from their checkpoints.

Written against Mantid's own API (``IAlgorithm.cancel`` from another thread, the outputs in the
ADS, the files on disk), so that it runs unchanged with a real Mantid."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from mantid_mdinsim.md import outputs
from mantid_mdinsim.errors import InputFileError
from mantid_mdinsim.md.checkpoint import CHECKPOINT_NAME, load_checkpoint
from mantid_mdinsim.md.core import SUMMARY_FILE
from mantid_mdinsim.train.fitting import DONE_MARKER, INPUTS_MARKER

from .conftest import make_algorithm
from .test_md_train_nep import TINY, _training_file

#: The issue's bound for a Cancel to take effect (the MD workers finish their current chunk of
#: steps and checkpoint; neppo is terminated).
CANCEL_WITHIN_S = 10.0


def _start(algorithm) -> tuple[threading.Thread, dict]:
    """Execute ``algorithm`` in a thread, as Workbench runs it asynchronously."""
    outcome: dict = {}

    def target():
        try:
            outcome["result"] = algorithm.execute()
        except BaseException as error:  # noqa: BLE001 - KeyboardInterrupt is the cancel
            outcome["error"] = error
        outcome["ended"] = time.monotonic()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def _wait_for(condition, thread, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if not thread.is_alive():
            pytest.fail(f"the algorithm ended before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout_s} s")
        time.sleep(0.05)


def _cancel(algorithm, thread, outcome) -> float:
    """Press Cancel; the seconds until the algorithm stopped."""
    pressed = time.monotonic()
    algorithm.cancel()
    thread.join(timeout=60.0)
    assert not thread.is_alive(), "the algorithm did not stop after Cancel"
    assert isinstance(outcome.get("error"), KeyboardInterrupt), outcome
    seconds = outcome["ended"] - pressed
    print(f"{algorithm.name()} stopped {seconds:.2f} s after Cancel")
    return seconds


def _md_algorithm(folder, model):
    # 5 ns per run: 1 % of the progress range is about 10^5 steps, far more than the test
    # waits, so only an interruption point in the waiting loop itself can stop it in time.
    return make_algorithm(
        "MDRunGPUMD", InputStructure=str(folder / "si.xyz"), NEPModel=str(model),
        Temperatures=[300.0], NumberOfRuns=2, Processes=2, Backend="cpu",
        Equilibration="none", ProductionTimePs=5000.0, DumpIntervalFs=20.0,
        CheckpointIntervalPs=0.1, MaxFrequencyMev=70.0, OutputDir=str(folder / "runs"),
        OutputWorkspace="thermo")


def _checkpoint_step(run) -> int:
    return int(load_checkpoint(run / CHECKPOINT_NAME)[1]["step"])


def _run_md_until_checkpoint_beyond(folder, model, runs, steps) -> float:
    """Start MDRunGPUMD, press Cancel once both runs have checkpointed beyond ``steps``;
    the seconds it took to stop."""
    algorithm = _md_algorithm(folder, model)
    thread, outcome = _start(algorithm)

    def beyond() -> bool:
        try:
            return all(_checkpoint_step(run) > steps[i] for i, run in enumerate(runs))
        except (OSError, InputFileError):
            return False  # not written yet, or being replaced

    _wait_for(beyond, thread, 180.0, "checkpoint of both runs")
    return _cancel(algorithm, thread, outcome)


def test_cancel_stops_two_md_worker_processes_and_the_runs_resume(shared_data, tmp_path, ads):
    from ase.build import bulk
    from ase.io import write

    write(tmp_path / "si.xyz", bulk("Si", "diamond", 5.431, cubic=True))
    model = shared_data / "nep" / "Si_2022_NEP4_3body.txt"
    runs = [tmp_path / "runs" / "T_300K" / f"run_{i:03d}" for i in range(2)]

    # Both worker processes are running once each has written a checkpoint.
    assert _run_md_until_checkpoint_beyond(tmp_path, model, runs, [0, 0]) < CANCEL_WITHIN_S
    first = [_checkpoint_step(run) for run in runs]

    # Nothing under a final name: no trajectory, thermo table or summary of either run, no
    # summary of the set, no output workspace; the partial files and checkpoints remain.
    for run in runs:
        # NetCDF is the default trajectory format of new runs.
        assert not (run / outputs.TRAJECTORY_NETCDF_NAME).exists()
        assert not (run / outputs.THERMO_NAME).exists()
        assert not (run / outputs.SUMMARY_NAME).exists()
        assert outputs.partial_path(run / outputs.TRAJECTORY_NETCDF_NAME).is_file()
    assert not (tmp_path / "runs" / SUMMARY_FILE).exists()
    assert not ads.doesExist("thermo")

    # Started again with the same settings, each run continues from its checkpoint: once it
    # has checkpointed further, Cancel again; its thermo table is then one unbroken sequence
    # of rows, 20 fs apart, from the first interval to the new checkpoint, none repeated or
    # lost at the resumption.
    assert _run_md_until_checkpoint_beyond(tmp_path, model, runs, first) < CANCEL_WITHIN_S
    for run, resumed_at in zip(runs, first):
        thermo = outputs.read_thermo_csv(outputs.partial_path(run / outputs.THERMO_NAME))
        steps = np.asarray(thermo["step"])
        end = _checkpoint_step(run)
        assert end > resumed_at
        np.testing.assert_array_equal(steps, np.arange(20, end + 1, 20))


def test_cancel_stops_neppo_training(tmp_path, ads):
    pytest.importorskip("neppo")
    output = tmp_path / "out"
    settings = dict(TINY, Generations=100000)
    algorithm = make_algorithm("MDTrainNEP",
                               TrainingSet=str(_training_file(tmp_path / "train.xyz")),
                               OutputDirectory=str(output), OutputWorkspace="metrics",
                               **settings)
    thread, outcome = _start(algorithm)
    log = output / "nepmodel_full" / "neppo.log"
    # neppo runs in its child process once its log is open (the algorithm is then in the loop
    # that waits on it); a second more lets the waiting loop poll it.
    _wait_for(log.is_file, thread, 120.0, "neppo process")
    time.sleep(1.0)
    stopped_after_s = _cancel(algorithm, thread, outcome)
    assert stopped_after_s < CANCEL_WITHIN_S

    # The model is not marked trained and no final model or metrics exist, so a new start
    # trains it again (neppo cannot continue a training) from the same staged inputs.
    model_folder = output / "nepmodel_full"
    assert (model_folder / INPUTS_MARKER).is_file()
    assert not (model_folder / DONE_MARKER).exists()
    assert not (output / "nep.txt").exists()
    assert not (output / "metrics.csv").exists()
    assert not ads.doesExist("metrics")
