"""Output readers and metrics on the complete real nep run in shared/data/gpumd-samples/nep_train
(PbTe, 25 structures of 250 atoms, 20000 generations of GPUMD d98135de)."""

import numpy as np
import pytest
from ase.io import read
from sklearn.metrics import r2_score

from mantid_mdinsim.train import (Ensemble, read_loss_curve, read_run_predictions, rmse,
                                  r_squared)
from mantid_mdinsim.train.backends import last_generation
from mantid_mdinsim.train.fitting import ModelRun, evaluate_models
from mantid_mdinsim.train.dataset import load_dataset


@pytest.fixture(scope="module")
def run_directory(shared_data):
    return shared_data / "gpumd-samples" / "nep_train"


def test_rmse_from_predictions_agree_with_gpumds_loss_out(run_directory):
    predictions = read_run_predictions(run_directory)
    assert set(predictions) == {"train"}
    train = predictions["train"]
    assert train.n_structures == 25 and train.force_target.shape == (6250, 3)
    assert train.virial_target.shape == (0, 6)  # no virials in train.xyz: nep wrote -1e6
    last = {name: values[-1] for name, values in read_loss_curve(
        run_directory / "loss.out").items()}
    assert last["generation"] == 20000 == last_generation(run_directory / "loss.out")
    metrics = train.metrics()
    # loss.out prints 5 decimals in eV units: 0.00041 eV/atom and 0.03990 eV/Angstrom.
    assert metrics["energy_rmse_mev_per_atom"] == pytest.approx(
        last["energy_rmse_train_mev_per_atom"], abs=0.005)
    assert metrics["force_rmse_mev_per_angstrom"] == pytest.approx(
        last["force_rmse_train_mev_per_angstrom"], abs=0.005)
    assert last["virial_rmse_train_mev_per_atom"] == 0.0 and np.isnan(
        metrics["virial_rmse_mev_per_atom"])


def test_r_squared_and_rmse_against_independent_formulas(run_directory):
    train = read_run_predictions(run_directory)["train"]
    assert r_squared(train.force_predicted, train.force_target) == pytest.approx(
        r2_score(train.force_target.ravel(), train.force_predicted.ravel()), rel=1e-12)
    assert r_squared(train.energy_predicted, train.energy_target) == pytest.approx(
        r2_score(train.energy_target, train.energy_predicted), rel=1e-12)
    raw = np.loadtxt(run_directory / "force_train.out")
    assert rmse(train.force_predicted, train.force_target) == pytest.approx(
        np.sqrt(np.mean((raw[:, :3] - raw[:, 3:]) ** 2)), rel=1e-12)


def test_cpunep_reproduces_gpumds_predictions(run_directory):
    structures = read(run_directory / "train.xyz", ":")
    prediction = Ensemble([run_directory / "nep.txt"]).predict(structures)
    energies = np.loadtxt(run_directory / "energy_train.out")
    forces = np.loadtxt(run_directory / "force_train.out")
    # GPUMD evaluates in single precision and prints 6 significant digits.
    np.testing.assert_allclose(prediction.energy_per_atom_ev[0], energies[:, 0], atol=2e-5)
    np.testing.assert_allclose(np.concatenate([f[0] for f in prediction.forces_ev_per_angstrom]),
                               forces[:, :3], atol=1e-4)
    # and the targets GPUMD wrote are those of train.xyz
    np.testing.assert_allclose(energies[:, 1], [s.get_potential_energy() / len(s)
                                                for s in structures], atol=1e-5)


def test_evaluation_of_a_run_folder(run_directory):
    training = load_dataset(run_directory / "train.xyz")
    evaluation = evaluate_models([ModelRun("full", run_directory)], training, None, {})
    columns = evaluation.metrics.columns
    assert list(columns["model"]) == ["full"] and list(columns["dataset"]) == ["train"]
    assert columns["force_rmse_mev_per_angstrom"][0] == pytest.approx(39.9, abs=0.05)
    assert 0.98 < columns["force_r2"][0] < 1.0
    parity = evaluation.parity.columns
    forces = np.asarray(parity["property"]) == "force_mev_per_angstrom"
    assert forces.sum() == 3 * 6250
    raw = np.loadtxt(run_directory / "force_train.out")
    np.testing.assert_allclose(np.asarray(parity["predicted"])[forces], 1e3 * raw[:, :3].ravel())
    loss = evaluation.loss.columns
    assert len(loss["generation"]) == 200 and loss["generation"][-1] == 20000
