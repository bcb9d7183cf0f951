"""Reading training sets (ASE extxyz, GPUMD train.xyz, ASE databases) and the errors for bad
input: missing energies or forces, inconsistent species, structures without cells."""

import numpy as np
import pytest
from ase.build import bulk, molecule
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from mantid_mdinsim.errors import InputFileError, ParameterError
from mantid_mdinsim.train import load_dataset
from mantid_mdinsim.train.core import prepare_inputs
from mantid_mdinsim.train.dataset import check_vacuum, resolve_species

from .conftest import si_structures


def labelled_copper(n=3):
    structures = []
    for i in range(n):
        atoms = bulk("Cu", cubic=True)
        atoms.rattle(0.05, seed=i)
        atoms.calc = EMT()
        atoms.calc = SinglePointCalculator(atoms, energy=atoms.get_potential_energy(),
                                           forces=atoms.get_forces(), stress=atoms.get_stress())
        structures.append(atoms)
    return structures


def test_ase_extxyz_and_database_give_the_same_targets(tmp_path):
    import ase.db

    structures = labelled_copper()
    write(tmp_path / "train.xyz", structures)
    with ase.db.connect(tmp_path / "train.db") as database:
        for atoms in structures:
            database.write(atoms)
    from_xyz = load_dataset(tmp_path / "train.xyz")
    from_db = load_dataset(tmp_path / "train.db")
    assert len(from_xyz) == len(from_db) == 3 and from_xyz.species == ["Cu"]
    for a, b, reference in zip(from_xyz.structures, from_db.structures, structures):
        for atoms in (a, b):
            assert atoms.get_potential_energy() == pytest.approx(
                reference.get_potential_energy(), abs=1e-8)
            np.testing.assert_allclose(atoms.get_forces(), reference.get_forces(), atol=1e-7)
            np.testing.assert_allclose(atoms.get_stress(), reference.get_stress(), atol=1e-10)


def test_gpumd_train_xyz_with_its_own_keywords(tmp_path):
    # GPUMD's format: keywords in any case, force:R:3, virial in eV (doc/nep/input_files/
    # train_test_xyz.rst: positive when compressed; stress positive when stretched).
    path = tmp_path / "train.xyz"
    path.write_text(
        "2\n"
        'lattice="4 0 0 0 4 0 0 0 4" energy=-10.5 virial="6.4 0.64 0 0.64 12.8 0 0 0 19.2" '
        "weight=2 config_type=bulk properties=species:S:1:pos:R:3:force:R:3\n"
        "Si 0 0 0 0.1 0.2 0.3\n"
        "Si 1 1 1 -0.1 -0.2 -0.3\n")
    (atoms,) = load_dataset(path).structures
    assert atoms.get_volume() == pytest.approx(64.0)
    assert atoms.get_potential_energy() == -10.5
    np.testing.assert_allclose(atoms.get_forces(), [[0.1, 0.2, 0.3], [-0.1, -0.2, -0.3]])
    # stress = -virial / volume, ASE Voigt order xx yy zz yz xz xy
    np.testing.assert_allclose(atoms.get_stress(), [-0.1, -0.2, -0.3, 0, 0, -0.01])
    assert atoms.info == {"config_type": "bulk", "weight": 2.0}


def test_the_real_gpumd_training_set_reads(shared_data):
    dataset = load_dataset(shared_data / "gpumd-samples" / "nep_train" / "train.xyz")
    assert len(dataset) == 25 and dataset.species == ["Te", "Pb"]
    assert dataset.n_atoms == 25 * 250
    assert dataset.structures[0].get_potential_energy() == pytest.approx(-937.191)


def test_missing_energy_names_file_frame_and_fix(tmp_path):
    structures = labelled_copper()
    structures[1].calc = SinglePointCalculator(structures[1],
                                               forces=structures[1].calc.results["forces"])
    write(tmp_path / "train.xyz", structures)
    with pytest.raises(InputFileError) as error:
        load_dataset(tmp_path / "train.xyz")
    message = str(error.value)
    assert "train.xyz, frame 1: no reference energy" in message and "energy=" in message


def test_missing_forces_names_file_frame_and_fix(tmp_path):
    structures = labelled_copper()
    structures[2].calc = SinglePointCalculator(structures[2], energy=-1.0)
    write(tmp_path / "train.xyz", structures)
    with pytest.raises(InputFileError, match=r"frame 2: no reference forces .*forces:R:3"):
        load_dataset(tmp_path / "train.xyz")


def test_non_finite_forces_are_refused(tmp_path):
    structures = labelled_copper(1)
    forces = structures[0].calc.results["forces"].copy()
    forces[2, 1] = np.nan
    structures[0].calc.results["forces"] = forces
    write(tmp_path / "train.xyz", structures)
    with pytest.raises(InputFileError, match="frame 0: the force on atom 2 is not finite"):
        load_dataset(tmp_path / "train.xyz")


def test_structure_without_cell_is_refused(tmp_path):
    water = molecule("H2O")
    water.calc = SinglePointCalculator(water, energy=-14.2, forces=np.zeros((3, 3)))
    write(tmp_path / "water.xyz", [water])
    with pytest.raises(InputFileError, match=r"frame 0: the structure has no cell.*vacuum"):
        load_dataset(tmp_path / "water.xyz")


def test_molecule_in_too_small_a_box_is_refused(tmp_path):
    water = molecule("H2O")
    water.center(vacuum=1.5)  # 3 Angstrom of vacuum at most, less than the cutoff
    water.calc = SinglePointCalculator(water, energy=-14.2, forces=np.zeros((3, 3)))
    write(tmp_path / "water.xyz", [water])
    dataset = load_dataset(tmp_path / "water.xyz")
    with pytest.raises(InputFileError, match="less than the radial cutoff 5 Angstrom"):
        check_vacuum(dataset, 5.0)
    water.center(vacuum=3.0)  # 6 Angstrom of vacuum
    write(tmp_path / "water.xyz", [water])
    check_vacuum(load_dataset(tmp_path / "water.xyz"), 5.0)


def test_inconsistent_species(tmp_path):
    si = si_structures(2)
    write(tmp_path / "train.xyz", si)
    mixed = si_structures(1)[0]
    mixed.numbers[3] = 6  # one carbon atom in the test set
    mixed.calc = SinglePointCalculator(mixed, energy=-30.0, forces=np.zeros((8, 3)))
    write(tmp_path / "test.xyz", [mixed])
    with pytest.raises(InputFileError) as error:
        prepare_inputs(training_set=[str(tmp_path / "train.xyz")],
                       test_set=[str(tmp_path / "test.xyz")], output_directory=str(tmp_path),
                       backend="neppo")
    assert "test.xyz, frame 0: species C is not among the model species (Si)" in str(error.value)
    assert "the model cannot predict it" in str(error.value)
    training = load_dataset(tmp_path / "train.xyz")
    with pytest.raises(ParameterError, match="no training structure contains O"):
        resolve_species(training, ["Si", "O"])
    with pytest.raises(ParameterError, match="'si' is not a chemical symbol"):
        resolve_species(training, ["si"])
    write(tmp_path / "mixed.xyz", si + [mixed])
    with pytest.raises(InputFileError, match="frame 2: species C is not among the model "
                                             r"species \(Si\).*--species"):
        resolve_species(load_dataset(tmp_path / "mixed.xyz"), ["Si"])
    assert resolve_species(load_dataset(tmp_path / "mixed.xyz"), None) == ["C", "Si"]


def test_unreadable_and_empty_files(tmp_path):
    (tmp_path / "broken.xyz").write_text("3\nnot extended xyz\nSi 0 0\n")
    with pytest.raises(InputFileError, match="broken.xyz: could not be read"):
        load_dataset(tmp_path / "broken.xyz")
    with pytest.raises(InputFileError, match="missing.xyz: file not found"):
        load_dataset(tmp_path / "missing.xyz")
    import ase.db

    with ase.db.connect(tmp_path / "empty.db"):
        pass
    with pytest.raises(InputFileError, match="holds no structures"):
        load_dataset(tmp_path / "empty.db")
