"""Training sized for CPUs: backend-dependent defaults (GPUMD's nep keeps its own), early
stopping on the validation loss, the time budget, and the progress line's time estimate."""

import math

import numpy as np
import pytest
from ase.io import write

from mantid_mdinsim.progress import format_duration, terminal_progress
from mantid_mdinsim.train import TRAIN_PARAMETERS, NepHyperparameters, train_nep
from mantid_mdinsim.train.neppo_backend import rows_since_best, validation_losses

from .conftest import TINY_MODEL, si_structures

HEADER = ("# format_version 1\n# output_interval 100\n# columns generation total "
          "rmse_energy_train rmse_force_train rmse_virial_train rmse_energy_test "
          "rmse_force_test rmse_virial_test\n")


def _hyper(backend, **changes):
    parameters = TRAIN_PARAMETERS.resolve(dict(training_set=["x.xyz"], output_directory="o",
                                               **changes))
    return NepHyperparameters.from_parameters(parameters, ["Si"], backend)


def test_gpumd_keeps_its_defaults_and_neppo_gets_cpu_sized_ones():
    # GPUMD's Parameters::set_default_parameters: cutoffs 8/4, batch 1000, 100000 generations.
    gpumd = _hyper("gpumd").nep_in("gpumd")
    assert gpumd["cutoff"] == [8.0, 4.0] and gpumd["batch"] == 1000
    assert gpumd["generation"] == 100000
    neppo = _hyper("neppo").nep_in("neppo")
    assert neppo["cutoff"] == [5.0, 4.0] and neppo["batch"] == 8 and neppo["generation"] == 3000
    # what the user gives wins, on either backend
    assert _hyper("neppo", radial_cutoff_angstrom=7.0).nep_in("neppo")["cutoff"] == [7.0, 4.0]


def test_validation_loss_is_the_lambda_weighted_test_rmse(tmp_path):
    rows = [(100, 1.0, 0.010, 0.20, 0.05, 0.012, 0.30, 0.06),
            (200, 0.5, 0.005, 0.10, 0.04, 0.011, 0.25, 0.05)]
    path = tmp_path / "loss.out"
    path.write_text(HEADER + "".join(" ".join(str(v) for v in row) + "\n" for row in rows))
    losses = validation_losses(path, {"energy": 1.0, "force": 1.0, "virial": 0.1})
    assert losses == pytest.approx([0.012 + 0.30 + 0.006, 0.011 + 0.25 + 0.005])
    # no test columns: the training RMSEs
    path.write_text(HEADER.replace(" rmse_energy_test rmse_force_test rmse_virial_test", "")
                    + "100 1.0 0.01 0.2 0.05\n")
    assert validation_losses(path, {"energy": 2.0, "force": 1.0, "virial": 0.0}) == \
        pytest.approx([0.02 + 0.2])


def test_rows_since_best_counts_rows_without_a_real_improvement():
    assert rows_since_best([5.0, 4.0, 3.0]) == 0
    assert rows_since_best([5.0, 3.0, 3.2, 3.1, 2.9999]) == 3     # 0.003 % is no improvement
    assert rows_since_best([math.inf, math.inf]) == 2       # no finite loss: none is best


def test_time_budget_keeps_the_best_model_and_its_predictions(tmp_path):
    """A budget far too short for the steps asked: the run stops, keeps neppo's best model,
    and the outputs (metrics from *_train.out) are those of that model (CPUNEP agrees)."""
    structures = si_structures(12, seed=21)
    write(tmp_path / "train.xyz", structures)
    result = train_nep(dict(training_set=[str(tmp_path / "train.xyz")],
                            output_directory=str(tmp_path / "out"), backend="neppo",
                            generations=200000, output_interval=20, time_budget_minutes=0.05,
                            seed=4, **TINY_MODEL))
    assert any("time limit" in note and "best model is kept" in note for note in result.notes)
    _assert_metrics_are_the_kept_models(result, structures)


def test_log_progress_prints_a_time_estimate_once_per_line(capsys, monkeypatch):
    clock = iter([0.0, 0.0, 30.0, 30.5, 61.0, 100.0])
    monkeypatch.setattr("mantid_mdinsim.progress.time.monotonic", lambda: next(clock))
    with terminal_progress("train", enabled=False) as progress:
        progress.report(0.0, "step 0")
        progress.report(0.25, "step 100")     # 30 s for a quarter: 90 s left
        progress.report(0.25, "step 100")     # the same line again: not printed
        progress.report(0.5, "step 200")
        progress.report(1.0, "done")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "train:   0.0% step 0"
    assert lines[1] == "train:  25.0% step 100 (about 1 min 30 s left)"
    assert lines[2] == "train:  50.0% step 200 (about 1 min 01 s left)"
    assert lines[3] == "train: 100.0% done" and len(lines) == 4
    assert format_duration(3725) == "1 h 02 min"


def _assert_metrics_are_the_kept_models(result, structures) -> None:
    """The reported training-set metrics are those of the model kept: the predictions they come
    from (the run's energy_train.out) are the kept model's energies, as CPUNEP computes them.
    neppo evaluates in float32, CPUNEP in float64: per structure they agree to about 5e-6
    eV/atom, which moves an RMSE of about 2 meV/atom by up to a relative 1e-3 (the earlier
    comparison of RMSEs at rel 1e-3 failed once in the suite), so the energies are compared
    structure by structure (in file order, the training set's)."""
    from calorine.calculators import CPUNEP

    energies = []
    for atoms in structures:
        atoms = atoms.copy()
        atoms.calc = CPUNEP(str(result.model_path))
        energies.append(atoms.get_potential_energy() / len(atoms))
    predicted, reference = np.loadtxt(
        result.output_directory / "nepmodel_full" / "energy_train.out", ndmin=2)[:, :2].T
    assert np.array(energies) == pytest.approx(predicted, abs=2e-5)   # measured: 5e-6
    rmse = 1e3 * np.sqrt(np.mean((predicted - reference) ** 2))
    assert result.metric("full", "train", "energy_rmse_mev_per_atom") == pytest.approx(
        rmse, rel=1e-6)


def _train_until_deadline(folder, deadline_s: float, output_interval: int) -> tuple:
    """A small neppo training in ``folder`` (train.xyz written) under neppo_runner's deadline,
    on a fake clock that advances 1 s per look; returns (step, reason) it stopped with."""
    from neppo.nep_in import run

    from mantid_mdinsim.train.neppo_runner import TrainingStopped, install_deadline

    (folder / "nep.in").write_text(
        "type 1 Si\nversion 4\ncutoff 5 4\nn_max 4 4\nbasis_size 4 4\nl_max 4 2 0\nneuron 8\n"
        f"batch 4\ngeneration 100000\noutput_interval {output_interval}\nseed 3\n")
    ticks = iter(range(10 ** 6))
    undo = install_deadline(deadline_s, clock=lambda: float(next(ticks)))
    try:
        with pytest.raises(TrainingStopped) as reached:
            run(folder, device="cpu")
    finally:
        undo()
    return reached.value.args


def test_deadline_is_checked_after_every_step_and_leaves_a_loadable_model(tmp_path):
    """neppo_runner on a fake clock that advances 1 s per look (step k looks at k - 1): a
    deadline at 7 s ends the training after step 8, between reports (every 1000 steps), with that step's report written:
    a loss.out row for it and a best model calorine's CPUNEP reads and that matches neppo's own
    training-set energies (its *_train.out)."""
    from calorine.calculators import CPUNEP

    structures = si_structures(8, seed=5)
    write(tmp_path / "train.xyz", structures)
    reached = _train_until_deadline(tmp_path, deadline_s=7.0, output_interval=1000)
    assert reached == (8, "time")
    rows = [line.split() for line in (tmp_path / "loss.out").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    assert [int(row[0]) for row in rows] == [8]
    energies_per_atom = []
    for atoms in structures:
        atoms = atoms.copy()
        atoms.calc = CPUNEP(str(tmp_path / "nep_best.txt"))
        energies_per_atom.append(atoms.get_potential_energy() / len(atoms))
    neppo_energies = np.loadtxt(tmp_path / "energy_train.out")[:, 0]
    assert np.array(energies_per_atom) == pytest.approx(neppo_energies, abs=1e-4)


def test_a_deadline_after_a_report_leaves_time_for_the_final_report(tmp_path):
    """The step that ends the run is the first whose final report (as long as the last report
    took) would end at or after the deadline: reports every 2 steps each take 1 tick of the
    fake clock (2 looks), so the run ends one tick earlier than without reports."""
    write(tmp_path / "train.xyz", si_structures(8, seed=5))
    reached = _train_until_deadline(tmp_path, deadline_s=9.0, output_interval=2)
    # ticks: step 1 looks at 0; step 2 at 1, its report at 2-3; step 3 at 4 (+1 = 5 < 9);
    # step 4 at 5, report 6-7; step 5 at 8: 8 + 1 >= 9, so the run ends after step 5.
    assert reached[0] == 5
    assert (tmp_path / "nep_best.txt").is_file()


def test_progress_message_of_a_training_estimates_the_time_left_once(capsys, monkeypatch):
    """The step's own estimate (steps to go at the rate since the first report, at most the
    time limit left) is in the message, which stays the same until the next report; the log
    prints it once and adds no second estimate."""
    from mantid_mdinsim.train.neppo_backend import StepRateEstimate

    estimate = StepRateEstimate(3000, started_s=0.0, time_limit_s=None)
    assert estimate.message("model full", 0, 5.0) == "model full step 0/3000"
    # the first report after 20 s (start-up included): 2900 steps at 100 per 20 s
    assert estimate.message("model full", 100, 20.0) == \
        "model full step 100/3000, about 9 min 40 s left"
    assert estimate.message("model full", 100, 25.0) == \
        "model full step 100/3000, about 9 min 40 s left"
    # from then on, the rate since the first report: 100 steps in 5 s, 2800 to go
    assert estimate.message("model full", 200, 25.0) == \
        "model full step 200/3000, about 2 min 20 s left"
    limited = StepRateEstimate(3000, started_s=0.0, time_limit_s=60.0)
    assert limited.message("m", 100, 20.0) == "m step 100/3000, about 40 s left"

    clock = iter([0.0, 0.0, 30.0, 30.5])
    monkeypatch.setattr("mantid_mdinsim.progress.time.monotonic", lambda: next(clock))
    with terminal_progress("train", enabled=False) as progress:
        progress.report(0.0, "m step 0/3000")
        progress.report(0.25, "m step 750/3000, about 2 min 00 s left")
        progress.report(0.25, "m step 750/3000, about 2 min 00 s left")
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["train:   0.0% m step 0/3000",
                     "train:  25.0% m step 750/3000, about 2 min 00 s left"]


def test_terminal_bar_shows_one_estimate_of_the_time_left(capsys):
    """On a terminal (tqdm) the bar's own estimate is left out while the message has one."""
    with terminal_progress("train", enabled=True) as progress:
        progress.report(0.1, "m step 300/3000")
        progress.report(0.2, "m step 600/3000, about 2 min 00 s left")
    frames = capsys.readouterr().err.replace("\n", "\r").split("\r")
    with_own = [frame for frame in frames if "about 2 min 00 s left" in frame]
    assert with_own and all("<" not in frame for frame in with_own)
    assert any("step 300/3000" in frame and "<" in frame for frame in frames)


def test_patience_asks_the_training_to_stop_and_keeps_the_best_model(tmp_path):
    """Patience 1 on a tiny set: the first report that does not improve the training loss
    asks neppo to stop (a request file, seen after the next step, not a kill); the run ends
    long before its 200000 steps, says why, and the kept model is neppo's best, whose
    training-set energies CPUNEP reproduces (the metrics come from its *_train.out)."""
    structures = si_structures(12, seed=21)
    write(tmp_path / "train.xyz", structures)
    result = train_nep(dict(training_set=[str(tmp_path / "train.xyz")],
                            output_directory=str(tmp_path / "out"), backend="neppo",
                            generations=200000, output_interval=5, early_stopping_patience=1,
                            seed=4, **TINY_MODEL))
    assert any("not improved in 1 reports" in note for note in result.notes)
    run_directory = tmp_path / "out" / "nepmodel_full"
    assert not (run_directory / "stop_requested").exists()
    assert (run_directory / "nep.txt").read_text() == \
        (run_directory / "nep_best.txt").read_text()
    _assert_metrics_are_the_kept_models(result, structures)
