"""CPU training with neppo on a tiny silicon set labelled by ASE's Tersoff potential: accuracy,
agreement with neppo's own errors and predictions, ensemble metrics, outputs and resuming."""

import csv
import json

import numpy as np
import pytest
from ase.io import read, write

from mantid_mdinsim.train import Ensemble, read_loss_curve, read_run_predictions, train_nep

from .conftest import TINY_MODEL, si_structures

SETTINGS = dict(backend="neppo", generations=200, batch_size=8, output_interval=100,
                ensemble_size=2, validation_fraction=0.25, seed=3, **TINY_MODEL)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("neppo")
    write(folder / "train.xyz", si_structures(16, seed=11))
    write(folder / "test.xyz", si_structures(4, seed=12))
    parameters = dict(training_set=[str(folder / "train.xyz")],
                      test_set=[str(folder / "test.xyz")],
                      output_directory=str(folder / "out"), **SETTINGS)
    return parameters, train_nep(parameters)


def test_reaches_a_sensible_accuracy(trained):
    _, result = trained
    test_forces = np.concatenate([s.get_forces() for s in si_structures(4, seed=12)])
    # 200 steps of a small model: the force error is well below the spread of the forces
    # (about 1.8 eV/Angstrom), i.e. R^2 > 0.9 on structures never seen in training.
    assert result.metric("full", "test", "force_r2") > 0.9
    assert result.metric("full", "test", "force_rmse_mev_per_angstrom") < 0.3e3 * np.std(
        test_forces)
    assert result.metric("full", "test", "energy_rmse_mev_per_atom") < 30.0
    assert result.metric("full", "train", "virial_r2") > 0.3


def test_metrics_agree_with_neppos_own_errors(trained):
    _, result = trained
    for name in ("full", "split1", "split2"):
        folder = result.output_directory / f"nepmodel_{name}"
        last = {key: values[-1] for key, values in read_loss_curve(folder / "loss.out").items()}
        assert last["generation"] == 200
        dataset = "test" if name == "full" else "validation"
        for suffix, label in (("train", "train"), ("test", dataset)):
            for quantity in ("energy_rmse_{}_mev_per_atom", "force_rmse_{}_mev_per_angstrom",
                             "virial_rmse_{}_mev_per_atom"):
                column = quantity.replace("_{}", "")
                # loss.out holds 5 decimals in eV units
                assert result.metric(name, label, column) == pytest.approx(
                    last[quantity.format(suffix)], abs=0.006)


def test_cpunep_reproduces_neppos_predictions(trained):
    import torch
    from neppo import predict, read_model

    _, result = trained
    structures = si_structures(3, seed=21)
    # in double precision, as CPUNEP evaluates the file (neppo trains in float32)
    model = read_model(str(result.model_path), dtype=torch.float64)
    predicted = predict(model, [s.copy() for s in structures])
    reference = Ensemble([result.model_path]).predict(structures)
    for k, atoms in enumerate(predicted):
        assert reference.energy_per_atom_ev[0, k] == pytest.approx(
            float(np.ravel(atoms.info["energy_predicted"])[0]), abs=1e-10)
        np.testing.assert_allclose(reference.forces_ev_per_angstrom[k][0],
                                   atoms.arrays["force_predicted"], atol=1e-10)
        np.testing.assert_allclose(reference.virial_per_atom_ev[0, k],
                                   atoms.info["virial_predicted"], atol=1e-10)
    # and the predictions neppo wrote to energy_train.out come from the same model
    written = read_run_predictions(result.output_directory / "nepmodel_full")["train"]
    training = read(result.output_directory / "nepmodel_full" / "train.xyz", ":")
    again = Ensemble([result.model_path]).predict(training)
    np.testing.assert_allclose(again.energy_per_atom_ev[0], written.energy_predicted, atol=1e-5)


def test_ensemble_mean_is_no_worse_than_its_members_on_average(trained):
    # The error of the mean prediction is at most the mean of the members' errors (triangle
    # inequality), whatever the models.
    _, result = trained
    for column in ("energy_rmse_mev_per_atom", "force_rmse_mev_per_angstrom"):
        members = np.mean([result.metric(f"split{k}", "test", column) for k in (1, 2)])
        assert result.metric("ensemble_mean", "test", column) <= members + 1e-9
    sigma = Ensemble(result.ensemble_paths).force_uncertainty_mev_per_angstrom(
        si_structures(4, seed=12))
    assert np.all(np.isfinite(sigma)) and np.all(sigma > 0)


def test_output_files(trained):
    _, result = trained
    with open(result.files["metrics"]) as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["model"], r["dataset"]) for r in rows] == [
        ("full", "train"), ("full", "test"), ("split1", "train"), ("split1", "validation"),
        ("split1", "test"), ("split2", "train"), ("split2", "validation"), ("split2", "test"),
        ("ensemble_mean", "train"), ("ensemble_mean", "test")]
    assert float(rows[1]["force_rmse_mev_per_angstrom"]) == pytest.approx(
        result.metric("full", "test", "force_rmse_mev_per_angstrom"), rel=1e-8)
    for name in ("parity_plot", "loss_plot"):
        assert result.files[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads(result.files["summary"].read_text())
    assert summary["model"] == str(result.model_path) and len(summary["ensemble"]) == 2
    assert result.model_path.read_text() == (
        result.output_directory / "nepmodel_full" / "nep.txt").read_text()
    assert [table.name for table in result.workspaces()] == ["metrics", "loss", "parity"]
    assert result.metrics.logs["mdinsim_step"] == "MDTrainNEP"


def test_a_second_run_reuses_the_trained_models(trained):
    parameters, result = trained
    markers = {p: p.stat().st_mtime_ns
               for p in result.output_directory.glob("nepmodel_*/.mdinsim-done.json")}
    again = train_nep(parameters)
    assert markers == {p: p.stat().st_mtime_ns for p in markers}
    assert again.metric("full", "test", "force_rmse_mev_per_angstrom") == result.metric(
        "full", "test", "force_rmse_mev_per_angstrom")
