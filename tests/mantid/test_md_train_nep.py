"""MDTrainNEP: the dialog from the shared definitions, the smallest real training (neppo on CPU)
whose workspaces equal the files the core wrote, and invalid inputs rejected with messages."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from mantid.api import AnalysisDataService, ITableWorkspace

from mantid_mdinsim.train import TRAIN_PARAMETERS

from .conftest import assert_properties_match, load_algorithm, make_algorithm

# Tersoff's silicon (Phys. Rev. B 38, 9902 (1988)), the reference labelling the structures.
_TERSOFF_SI = ("3.0 1.0 0.0 1.0039e5 16.217 -0.59825 0.78734 1.0999e-6 1.7322 471.18 2.85 0.15 "
               "2.4799 1830.8")
TINY = dict(RadialCutoffAngstrom=5.0, AngularCutoffAngstrom=4.0, NMaxRadial=2, NMaxAngular=2,
            BasisSizeRadial=2, BasisSizeAngular=2, Neurons=4, Threads=1, Generations=5,
            BatchSize=6, OutputInterval=1, Backend="neppo")


def _training_file(path):
    from ase.build import bulk
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.calculators.tersoff import Tersoff, TersoffParameters
    from ase.io import write

    tersoff = Tersoff({("Si", "Si", "Si"):
                       TersoffParameters(*[float(v) for v in _TERSOFF_SI.split()])})
    rng = np.random.default_rng(0)
    structures = []
    for index in range(6):
        atoms = bulk("Si", "diamond", 5.431 * (1 + rng.uniform(-0.03, 0.03)), cubic=True)
        atoms.rattle(0.08, seed=index)
        atoms.calc = tersoff
        results = dict(energy=atoms.get_potential_energy(), forces=atoms.get_forces(),
                       stress=atoms.get_stress())
        atoms.calc = SinglePointCalculator(atoms, **results)
        structures.append(atoms)
    write(path, structures)
    return path


def test_category_summary_and_dialog_follow_the_shared_definitions():
    algorithm = load_algorithm("MDTrainNEP")()
    algorithm.initialize()
    assert algorithm.category() == "Simulation"
    assert {"Abins", "Abins2D", "MDRunGPUMD"} <= set(algorithm.seeAlso())
    assert_properties_match(algorithm, TRAIN_PARAMETERS)
    assert algorithm.getProperty("ReferenceCalculator").settings is not None


@pytest.fixture(scope="module")
def training(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train")
    AnalysisDataService.clear(True)
    algorithm = make_algorithm("MDTrainNEP",
                               TrainingSet=str(_training_file(folder / "train.xyz")),
                               OutputDirectory=str(folder / "out"), OutputWorkspace="metrics",
                               OutputLoss="loss", **TINY)
    assert algorithm.execute()
    outputs = {name: AnalysisDataService.retrieve(name) for name in ("metrics", "loss")}
    return algorithm, outputs, folder


def test_metrics_table_equals_the_metrics_file_the_core_wrote(training):
    algorithm, outputs, folder = training
    metrics = outputs["metrics"]
    assert isinstance(metrics, ITableWorkspace)
    with open(folder / "out" / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert metrics.rowCount() == len(rows) > 0
    assert metrics.column("model") == [r["model"] for r in rows]
    for name in ("energy_rmse_mev_per_atom", "force_rmse_mev_per_angstrom"):
        np.testing.assert_allclose(metrics.column(name), [float(r[name]) for r in rows],
                                   rtol=1e-6)
    assert "mdinsim_version" in metrics.getComment()
    assert outputs["loss"].rowCount() > 0


def test_the_model_file_is_given_for_mdrungpumd(training):
    algorithm, _, folder = training
    model = algorithm.getProperty("ModelFile").value
    assert model == str(folder / "out" / "nep.txt")
    with open(model) as handle:
        assert handle.readline().split()[:3] == ["nep4", "1", "Si"]
    assert list(algorithm.getProperty("EnsembleFiles").value) == []


@pytest.mark.parametrize("name, value, message", [
    ("AngularCutoffAngstrom", 12.0, "Selected value 12 is > the upper bound (10)"),
    ("Neurons", 0, "Selected value 0 is < the lower bound (1)"),
    ("Backend", "gpu", 'The value "gpu" is not in the list of allowed values'),
    ("ValidationFraction", 0.0, "Selected value 0 is <= the lower bound (0)"),
    ("MdTemperatureK", [-1.0], "At index 0: Selected value -1 is <= the lower bound (0)"),
])
def test_bad_values_are_refused_when_set(name, value, message):
    algorithm = make_algorithm("MDTrainNEP")
    with pytest.raises(ValueError) as error:
        algorithm.setProperty(name, value)
    assert message in str(error.value)


def test_an_angular_cutoff_beyond_the_radial_one_is_reported(tmp_path):
    data = tmp_path / "train.xyz"
    data.write_text("1\nenergy=0.0 Properties=species:S:1:pos:R:3:forces:R:3\nSi 0 0 0 0 0 0\n")
    algorithm = make_algorithm("MDTrainNEP", TrainingSet=str(data),
                               OutputDirectory=str(tmp_path / "out"), OutputWorkspace="m",
                               RadialCutoffAngstrom=5.0, AngularCutoffAngstrom=6.0)
    assert algorithm.validateInputs() == {
        "AngularCutoffAngstrom": "6 Angstrom exceeds the radial cutoff 5 Angstrom (GPUMD requires 3 "
                         "<= angular cutoff <= radial cutoff <= 10 Angstrom)"}


def test_missing_training_data_stops_the_algorithm(ads):
    algorithm = make_algorithm("MDTrainNEP", OutputWorkspace="m")
    assert algorithm.getProperty("TrainingSet").isValid == "No file specified."
    with pytest.raises(RuntimeError, match="Some invalid Properties found"):
        algorithm.execute()
