"""The GPUMD backend: a nep that fails, resuming from nep.restart, cancelling, the whole pipeline
through a stand-in nep (fake_nep.py) and, on GPU machines, through the real nep."""

import json
import sys
import threading

import numpy as np
import pytest
from ase.io import read, write

from mantid_mdinsim.errors import Cancelled, ExternalProgramError
from mantid_mdinsim.progress import ProgressReporter
from mantid_mdinsim.train import Ensemble, read_loss_curve, train_nep
from mantid_mdinsim.train.backends import select_backend
from mantid_mdinsim.train.gpumd_nep import GpumdNep, completed_generations

from .conftest import TINY_MODEL, si_structures
from .test_hyperparameters import GPUMD_KEYWORDS

FAKE_NEP = __file__.replace("test_gpumd_backend.py", "fake_nep.py")


@pytest.fixture
def fake_nep(tmp_path, monkeypatch):
    """An executable 'nep' running fake_nep.py; returns a function setting its mode/models."""
    executable = tmp_path / "bin" / "nep"
    executable.parent.mkdir()
    executable.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE_NEP} \"$@\"\n")
    executable.chmod(0o755)

    def configure(mode="copy", models=None):
        monkeypatch.setenv("FAKE_NEP_MODE", mode)
        monkeypatch.setenv("FAKE_NEP_MODELS", json.dumps(
            {k: str(v) for k, v in (models or {}).items()}))
        return executable
    return configure


def parameters(tmp_path, executable, **changes):
    write(tmp_path / "train.xyz", si_structures(8, seed=4))
    values = dict(training_set=[str(tmp_path / "train.xyz")],
                  output_directory=str(tmp_path / "out"), backend="gpumd",
                  nep_executable=str(executable), generations=300, **TINY_MODEL)
    values.update(changes)
    return values


def test_a_nep_that_fails_is_reported_with_its_log(tmp_path, fake_nep):
    executable = fake_nep("fail")
    with pytest.raises(ExternalProgramError) as error:
        train_nep(parameters(tmp_path, executable))
    message = str(error.value)
    assert "failed with exit status 1" in message and "nepmodel_full" in message
    assert "version should = 4." in message and "nep.log" in message
    assert not (tmp_path / "out" / "nep.txt").exists()  # nothing half-written


def test_a_nep_that_writes_nothing_is_reported(tmp_path, fake_nep):
    executable = fake_nep("silent")
    with pytest.raises(ExternalProgramError, match="exited normally but did not write .*nep.txt"):
        train_nep(parameters(tmp_path, executable))


def test_missing_nep_and_automatic_choice(monkeypatch, tmp_path):
    monkeypatch.delenv("MDINSIM_NEP", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ExternalProgramError, match="nep executable was not found.*--backend "
                                                   "neppo"):
        select_backend("gpumd")
    assert select_backend("auto").name == "neppo"
    with pytest.raises(ExternalProgramError, match="does not exist or is not executable"):
        select_backend("gpumd", str(tmp_path / "no-nep"))


def test_resume_gives_nep_the_generations_left(tmp_path, fake_nep, shared_data):
    executable = fake_nep("copy", {"*": shared_data / "nep" / "Si_2022_NEP4_3body.txt"})
    run = tmp_path / "nepmodel_full"
    run.mkdir()
    write(run / "train.xyz", si_structures(2, seed=5))
    (run / "nep.in").write_text("type 1 Si\ngeneration 1000\noutput_interval 100\n")
    (run / "loss.out").write_text("".join(f"{g} 0 0 0 0 0 0 0 0 0\n" for g in (100, 200, 300)))
    (run / "nep.restart").write_text("interrupted\n")
    GpumdNep(executable).run(run, 1000, ProgressReporter(), resume=True)
    calls = (run / "fake_nep_calls.txt").read_text()
    assert "generation 700" in calls
    assert "generation 1000" in (run / "nep.in").read_text()  # restored afterwards
    assert completed_generations(run / "loss.out") == 1000
    # calorine's reader stitches the restarted run onto the first
    assert read_loss_curve(run / "loss.out")["generation"][-1] == 1000


def test_cancel_stops_nep(tmp_path):
    executable = tmp_path / "bin" / "slow-nep"
    executable.parent.mkdir(exist_ok=True)
    executable.write_text("#!/bin/sh\nsleep 60\n")
    executable.chmod(0o755)
    (tmp_path / "run").mkdir()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        GpumdNep(executable).run(tmp_path / "run", 100, ProgressReporter(
            is_cancelled=cancel.is_set))


def test_pipeline_through_a_stand_in_nep(tmp_path, fake_nep, shared_data):
    # Two published silicon models stand in for trained ones, so the ensemble disagrees.
    three_body = shared_data / "nep" / "Si_2022_NEP4_3body.txt"
    four_body = shared_data / "nep" / "Si_2022_NEP4_4body.txt"
    executable = fake_nep("copy", {"*": three_body, "nepmodel_split2": four_body})
    write(tmp_path / "test.xyz", si_structures(3, seed=6))
    result = train_nep(parameters(tmp_path, executable, ensemble_size=2,
                                  validation_fraction=0.25, test_set=[str(tmp_path /
                                                                          "test.xyz")]))
    folder = result.output_directory / "nepmodel_full"
    keywords = {line.split()[0] for line in (folder / "nep.in").read_text().splitlines()}
    assert keywords <= GPUMD_KEYWORDS and "population" in keywords and "seed" not in keywords
    assert result.backend.startswith("gpumd")
    # The metrics from nep's files equal a direct evaluation of the model on the targets.
    training = read(tmp_path / "train.xyz", ":")
    direct = Ensemble([three_body]).predict(training).model_predictions(training, 0)
    for column, value in direct.metrics().items():
        assert result.metric("full", "train", column) == pytest.approx(value, rel=1e-3,
                                                                        abs=1e-3)
    # virials: per atom, six components, the convention of ASE's stress (-stress V / N)
    virial_target = np.array([-s.get_stress() * s.get_volume() / len(s) for s in training])
    assert direct.virial_target == pytest.approx(virial_target)
    assert result.metric("ensemble_mean", "test", "force_rmse_mev_per_angstrom") > 0
    assert result.model_path.read_text() == three_body.read_text()
    assert result.ensemble_paths[1].read_text() == four_body.read_text()


@pytest.mark.gpu(program="nep")
def test_real_nep_trains_and_its_outputs_agree(tmp_path):
    write(tmp_path / "train.xyz", si_structures(24, seed=8))
    result = train_nep(dict(training_set=[str(tmp_path / "train.xyz")],
                            output_directory=str(tmp_path / "out"), backend="gpumd",
                            generations=2000, batch_size=24, output_interval=100,
                            radial_cutoff_angstrom=5.0, angular_cutoff_angstrom=4.0,
                            n_max_radial=4, n_max_angular=4, neurons=10))
    folder = result.output_directory / "nepmodel_full"
    last = {k: v[-1] for k, v in read_loss_curve(folder / "loss.out").items()}
    assert last["generation"] == 2000
    assert result.metric("full", "train", "force_rmse_mev_per_angstrom") == pytest.approx(
        last["force_rmse_train_mev_per_angstrom"], abs=0.01)
    structures = read(folder / "train.xyz", ":")
    energies = np.loadtxt(folder / "energy_train.out")
    prediction = Ensemble([result.model_path]).predict(structures)
    np.testing.assert_allclose(prediction.energy_per_atom_ev[0], energies[:, 0], atol=2e-5)
    assert result.metric("full", "train", "force_r2") > 0.0  # better than the mean force


def test_training_from_structures_in_memory(tmp_path, fake_nep, shared_data):
    from mantid_mdinsim.train import train_nep_from_structures

    model = shared_data / "nep" / "Si_2022_NEP4_3body.txt"
    executable = fake_nep("copy", {"*": model})
    structures = si_structures(5, seed=13)
    result = train_nep_from_structures(structures, tmp_path / "out", backend="gpumd",
                                       nep_executable=str(executable), generations=100,
                                       **TINY_MODEL)
    written = read(tmp_path / "out" / "input_training_set.xyz", ":")
    assert [a.get_potential_energy() for a in written] == pytest.approx(
        [a.get_potential_energy() for a in structures])
    assert result.model_path.read_text() == model.read_text()
    assert result.metric("full", "train", "n_structures") == 5
