"""MD on Dask: each (temperature, run) one task. The reference is the same run in this process:
the files must be byte for byte the same (the tasks run the backend's own run_job), also when a
worker is killed in the middle of a run (the task reruns elsewhere and resumes from the run's
checkpoint); GPUMD tasks ask for a GPU and are refused clearly where no worker has one."""

from __future__ import annotations

import filecmp

import pytest

from mantid_mdinsim import execution
from mantid_mdinsim.execution import ExecutionError
from mantid_mdinsim.md import run_md
from mantid_mdinsim.progress import ProgressReporter

from ..dask_processes import DaskProcesses, kill_a_busy_worker

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning",
                                        "ignore::ResourceWarning")


def md_values(si_structure, si_model, folder, **changes):
    values = dict(structure=str(si_structure), model=str(si_model), output_dir=str(folder),
                  temperature_k=[300.0], number_of_runs=2, supercell=[1, 1, 2],
                  time_step_fs=2.0, equilibration="nvt", equilibration_time_ps=0.1,
                  production_time_ps=0.6, dump_interval_fs=10.0, max_frequency_mev=65.0,
                  checkpoint_interval_ps=0.05, backend="cpu", processes=1)
    values.update(changes)
    return values


def test_runs_on_local_2_with_a_worker_killed_equal_the_runs_in_one_process(
        tmp_path, si_structure, si_model):
    reference = run_md(md_values(si_structure, si_model, tmp_path / "reference"))
    folder = tmp_path / "cluster"
    killed = []

    def kill_after_a_checkpoint(fraction, message):
        # once every run has written a checkpoint, whichever busy worker is killed holds a
        # run in the middle of its production (with only one checkpoint written, the killed
        # worker's run could be the other one, which then restarts from step 0)
        if not killed and len(list(folder.glob("T_*/run_*/checkpoint.npz"))) == 2:
            address = kill_a_busy_worker(execution.active().client)
            if address:
                killed.append(address)

    result = run_md(md_values(si_structure, si_model, folder, scheduler="local:2"),
                    ProgressReporter(kill_after_a_checkpoint))
    assert killed, "no worker was busy when the test tried to kill one"
    resumed = [run for run in result.runs if run["timings"]["resumed_from_step"]]
    assert resumed, "the killed run did not resume from its checkpoint"
    for expected, run in zip(reference.runs, result.runs):
        assert filecmp.cmp(expected["trajectory_path"], run["trajectory_path"], shallow=False)
        assert filecmp.cmp(expected["thermo_path"], run["thermo_path"], shallow=False)
        assert run["mean_squared_displacement_angstrom2"] == \
            expected["mean_squared_displacement_angstrom2"]


def test_gpumd_runs_ask_for_a_gpu(tmp_path, si_structure, si_model, fake_gpumd,
                                  clean_fake_environment):
    cluster = DaskProcesses(tmp_path / "dask")
    try:
        address = cluster.start_scheduler()
        cluster.start_worker("cpu_only")
        cluster.wait_for_workers(1)
        values = md_values(si_structure, si_model, tmp_path / "runs", backend="gpumd",
                           gpumd_executable=str(fake_gpumd), number_of_runs=1,
                           scheduler=address)
        with pytest.raises(ExecutionError, match="offers the resource GPU=1"):
            run_md(values)
        cluster.start_worker("gpu", "--resources", "GPU=1")
        cluster.wait_for_workers(2)
        result = run_md(values)
    finally:
        cluster.close()
    # the stand-in moves every atom on x0 + A sin(wt + phase), A = 0.1: U = A^2/2 exactly
    assert result.backend == "gpumd"
    assert result.runs[0]["mean_squared_displacement_angstrom2"] == pytest.approx(0.005,
                                                                                 rel=1e-6)
