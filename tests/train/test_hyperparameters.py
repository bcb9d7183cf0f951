"""nep.in and training files for a known configuration, read back by calorine and neppo and
checked against GPUMD's documented keywords (doc/nep/input_parameters, GPUMD d98135de)."""

import numpy as np
import pytest
from calorine.nep import read_nepfile

from mantid_mdinsim.errors import InputFileError, ParameterError
from mantid_mdinsim.train import TRAIN_PARAMETERS, NepHyperparameters, read_model_header
from mantid_mdinsim.train.backends import select_backend
from mantid_mdinsim.train.fitting import _stage_runs
from mantid_mdinsim.train.dataset import dataset_from_structures

from .conftest import si_structures

# The keywords GPUMD's nep parses (Parameters::parse_one_keyword); any other stops nep.
GPUMD_KEYWORDS = {
    "model_type", "mode", "prediction", "version", "type", "cutoff", "n_max", "basis_size",
    "l_max", "neuron", "batch", "population", "generation", "lambda_1", "lambda_2",
    "lambda_e", "lambda_f", "lambda_v", "lambda_q", "lambda_z", "lambda_shear", "type_weight",
    "force_delta", "zbl", "initial_para", "sigma0", "atomic_v", "use_typewise_cutoff_zbl",
    "output_descriptor", "charge_mode", "vdw", "charge_vdw", "fine_tune", "save_potential",
    "output_interval", "import_q_scaler"}


def hyper(**changes):
    parameters = TRAIN_PARAMETERS.resolve(dict(training_set=["x.xyz"], output_directory="o",
                                               **changes))
    return NepHyperparameters.from_parameters(parameters, ["O", "Si"])


def test_defaults_are_gpumds_documented_defaults(tmp_path):
    keywords = hyper().nep_in("gpumd")
    path = tmp_path / "nep.in"
    from calorine.nep import write_nepfile

    write_nepfile(str(path), keywords)
    settings = read_nepfile(str(path))
    assert set(settings) <= GPUMD_KEYWORDS
    # GPUMD's defaults: version 4, cutoff 8 4, n_max 6 6, basis_size 6 6, l_max 4 (+ q_222),
    # 30 neurons, lambda_e = lambda_f = 1, lambda_v = 0.1, batch 1000, population 50,
    # 100000 generations.
    assert settings["version"] == 4
    assert settings["type"] == [2, "O", "Si"]
    assert settings["cutoff"] == [8.0, 4.0]
    assert settings["n_max"] == [6, 6] and settings["basis_size"] == [6, 6]
    assert settings["l_max"] == [4, 2, 0]
    assert settings["neuron"] == 30
    assert (settings["lambda_e"], settings["lambda_f"], settings["lambda_v"]) == (1, 1, 0.1)
    assert settings["batch"] == 1000 and settings["population"] == 50
    assert settings["generation"] == 100000
    # nep rejects a cutoff line before the type line (calorine's write_nepfile note).
    lines = [line.split()[0] for line in path.read_text().splitlines()]
    assert lines.index("type") < lines.index("cutoff")
    assert "lambda_1" not in settings  # GPUMD's automatic regularisation


def test_neppo_reads_its_nep_in_into_the_model_asked_for(tmp_path):
    from neppo.nep_in import get_model, read_nep_in

    from calorine.nep import write_nepfile

    keywords = hyper(radial_cutoff_angstrom=6.0, angular_cutoff_angstrom=3.5, n_max_radial=5,
                     n_max_angular=3, basis_size_radial=7, basis_size_angular=5, neurons=12,
                     zbl_cutoff_angstrom=2.0, seed=7).nep_in("neppo")
    assert "population" not in keywords and keywords["seed"] == 7
    assert keywords["generation"] == 3000 and keywords["batch"] == 8
    write_nepfile(str(tmp_path / "nep.in"), keywords)
    model = get_model(read_nep_in(tmp_path / "nep.in"), tmp_path)
    descriptor = model.descriptor
    assert list(model.types) == ["O", "Si"]
    assert descriptor.n_max_radial == 5 and descriptor.n_max_angular == 3
    assert descriptor.n_basis_radial == 7 and descriptor.n_basis_angular == 5
    assert descriptor.radial_cutoffs == [6.0, 6.0] and descriptor.angular_cutoffs == [3.5, 3.5]
    assert model.zbl is not None


def test_training_files_round_trip_and_splits_are_seeded_and_disjoint(tmp_path):
    from ase.io import read

    structures = si_structures(10, seed=3)
    dataset = dataset_from_structures(structures)
    hyperparameters = hyper()
    hyperparameters = NepHyperparameters.from_parameters(
        TRAIN_PARAMETERS.resolve(training_set=["x"], output_directory="o"), ["Si"])
    backend = select_backend("neppo")
    first = _stage_runs(dataset, None, hyperparameters, backend, tmp_path / "a", 3, 0.2,
                        "bagging", 5)
    full = read(first / "nepmodel_full" / "train.xyz", ":")
    assert len(full) == 10
    for original, written in zip(structures, full):
        assert written.get_potential_energy() == pytest.approx(
            original.get_potential_energy(), abs=1e-9)
        np.testing.assert_allclose(written.get_forces(), original.get_forces(), atol=1e-7)
        np.testing.assert_allclose(written.get_stress(), original.get_stress(), atol=1e-10)
    energies = {round(s.get_potential_energy(), 8) for s in structures}
    splits = []
    for k in (1, 2, 3):
        train = read(first / f"nepmodel_split{k}" / "train.xyz", ":")
        validation = read(first / f"nepmodel_split{k}" / "test.xyz", ":")
        train_e = {round(s.get_potential_energy(), 8) for s in train}
        validation_e = {round(s.get_potential_energy(), 8) for s in validation}
        assert (len(train), len(validation)) == (8, 2)
        assert not train_e & validation_e and train_e | validation_e == energies
        splits.append(validation_e)
    assert len({frozenset(s) for s in splits}) > 1  # random splits, not one split repeated
    again = _stage_runs(dataset, None, hyperparameters, backend, tmp_path / "b", 3, 0.2,
                        "bagging", 5)
    assert ((again / "nepmodel_split2" / "test.xyz").read_text()
            == (first / "nepmodel_split2" / "test.xyz").read_text())


def test_fine_tune_repeats_the_foundation_architecture(tmp_path, shared_data):
    # C_2024_NEP4.txt stands in for a foundation model: only its header is read here.
    foundation = shared_data / "nep" / "C_2024_NEP4.txt"
    restart = tmp_path / "foundation.restart"
    restart.write_text("0 0\n")
    header = read_model_header(foundation)
    parameters = TRAIN_PARAMETERS.resolve(training_set=["x"], output_directory="o",
                                          fine_tune_model=str(foundation),
                                          fine_tune_restart=str(restart), neurons=99)
    tuned = NepHyperparameters.from_parameters(parameters, ["C"])
    keywords = tuned.nep_in("gpumd", ("foundation_nep.txt", "foundation_nep.restart"))
    # GPUMD's syntax: fine_tune <nep_model_file> <nep_restart_file>, first in its example.
    assert list(keywords)[0] == "fine_tune"
    assert keywords["fine_tune"] == ["foundation_nep.txt", "foundation_nep.restart"]
    assert keywords["neuron"] == header.neurons != 99
    assert keywords["cutoff"] == [header.radial_cutoff_angstrom, header.angular_cutoff_angstrom]
    assert keywords["n_max"] == list(header.n_max)
    assert keywords["basis_size"] == list(header.basis_size)
    assert keywords["l_max"][:len(header.l_max)] == list(header.l_max)
    with pytest.raises(InputFileError, match="the foundation model has no Si"):
        NepHyperparameters.from_parameters(parameters, ["C", "Si"])
    with pytest.raises(ParameterError, match="needs GPUMD's nep"):
        tuned.nep_in("neppo")
    with pytest.raises(ParameterError, match="needs both"):
        NepHyperparameters.from_parameters(TRAIN_PARAMETERS.resolve(
            training_set=["x"], output_directory="o", fine_tune_model=str(foundation)), ["C"])


def test_settings_that_cannot_work_are_refused_with_the_fix():
    with pytest.raises(ParameterError, match="NEP3 cannot be trained on CPU.*NEP4 only"):
        hyper(version=3).nep_in("neppo")
    assert hyper(version=3).nep_in("gpumd")["version"] == 3
    with pytest.raises(ParameterError, match="exceeds the radial cutoff"):
        hyper(radial_cutoff_angstrom=5.0, angular_cutoff_angstrom=6.0)
    with pytest.raises(ParameterError, match="must be >= 3 and <= 10 Angstrom"):
        hyper(radial_cutoff_angstrom=12.0)
    with pytest.raises(ParameterError, match="neither 0 nor 2"):
        hyper(l_max_4body=1)


def test_model_headers_of_real_files(shared_data):
    si = read_model_header(shared_data / "nep" / "Si_2022_NEP4_4body.txt")
    assert (si.version, si.species, si.model_kind) == (4, ("Si",), "potential")
    carbon_hydrogen = read_model_header(shared_data / "nep" / "ch_ensemble" / "nep_split1.txt")
    assert carbon_hydrogen.version == 3 and carbon_hydrogen.species == ("C", "H")
    assert carbon_hydrogen.n_max == (8, 6) and carbon_hydrogen.neurons == 50
