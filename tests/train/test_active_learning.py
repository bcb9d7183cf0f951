"""Active learning: selection on fabricated ensemble disagreements, reference calculators by
import path, and the loop (MD, selection, labelling, retraining, resuming) end to end through a
stand-in nep whose 'ensemble' is two published silicon models that really disagree."""

import numpy as np
import pytest
from ase.io import read

from mantid_mdinsim.errors import ParameterError
from mantid_mdinsim.train import (label_structures, load_reference_calculator, select_uncertain,
                                  train_nep)
from mantid_mdinsim.train.active_learning import langevin_sampler, mdinsim_md_sampler
from mantid_mdinsim.train.ensemble import EnsemblePrediction

from .conftest import SI_TERSOFF_LAMMPS, si_structures, tersoff_si
from .test_gpumd_backend import fake_nep, parameters  # noqa: F401 (fixture)


def test_selection_threshold_maximum_and_count():
    sigma = np.array([10.0, 80.0, 55.0, 200.0, 49.9, 80.0, np.nan, 50.0])
    assert list(select_uncertain(sigma, 50.0)) == [3, 1, 5, 2]
    assert list(select_uncertain(sigma, 50.0, maximum_mev_per_angstrom=150.0)) == [1, 5, 2]
    assert list(select_uncertain(sigma, 50.0, 150.0, max_new=2)) == [1, 5]
    assert len(select_uncertain(sigma, 500.0)) == 0


def test_selection_from_a_fabricated_ensemble_disagreement():
    # Five frames of 4 atoms, three models. In frame k one atom's x force differs between the
    # models by +-d_k (population std d_k * sqrt(2/3)); the others agree.
    rng = np.random.default_rng(1)
    d = np.array([0.001, 0.2, 0.03, 0.08, 0.5])  # eV/Angstrom
    forces = []
    for k in range(5):
        base = rng.normal(size=(4, 3))
        per_model = np.repeat(base[None], 3, axis=0)
        per_model[:, k % 4, 0] += [d[k], -d[k], 0.0]
        forces.append(per_model)
    prediction = EnsemblePrediction(np.zeros((3, 5)), forces, np.zeros((3, 5, 6)))
    sigma = prediction.force_uncertainty_mev_per_angstrom()
    np.testing.assert_allclose(sigma, 1e3 * d * np.sqrt(2 / 3), rtol=1e-10)
    # threshold 50 meV/A, discard above 300 (an exploded MD), at most 2
    assert list(select_uncertain(sigma, 50.0, 300.0, max_new=2)) == [1, 3]


def test_reference_calculators_by_import_path(tmp_path):
    from ase.calculators.emt import EMT
    from ase.calculators.tersoff import Tersoff

    assert isinstance(load_reference_calculator("ase.calculators.emt:EMT")(), EMT)
    assert isinstance(load_reference_calculator("ase.calculators.emt.EMT", "{}")(), EMT)
    potential = tmp_path / "Si.tersoff"
    potential.write_text(SI_TERSOFF_LAMMPS)
    factory = load_reference_calculator("ase.calculators.tersoff:Tersoff.from_lammps",
                                        f'{{"potential_file": "{potential}"}}')
    assert isinstance(factory(), Tersoff)
    structures = si_structures(2, seed=9)
    labelled = label_structures(structures, factory)
    for atoms, reference in zip(labelled, structures):
        assert atoms.get_potential_energy() == pytest.approx(reference.get_potential_energy())
        np.testing.assert_allclose(atoms.get_forces(), reference.get_forces(), atol=1e-10)
        np.testing.assert_allclose(atoms.get_stress(), reference.get_stress(), atol=1e-12)
    with pytest.raises(ParameterError, match="cannot import 'no_such_module:Calc'"):
        load_reference_calculator("no_such_module:Calc")
    with pytest.raises(ParameterError, match="reference_calculator_arguments.*not valid JSON"):
        load_reference_calculator("ase.calculators.emt:EMT", "{method: GFN1}")


def test_active_learning_needs_an_ensemble_and_a_reference(tmp_path, fake_nep, shared_data):
    executable = fake_nep("copy", {"*": shared_data / "nep" / "Si_2022_NEP4_3body.txt"})
    with pytest.raises(ParameterError, match="ensemble of at least two models"):
        train_nep(parameters(tmp_path, executable, active_learning_generations=1))
    with pytest.raises(ParameterError, match="needs a reference calculator"):
        train_nep(parameters(tmp_path, executable, active_learning_generations=1,
                             ensemble_size=2, validation_fraction=0.25))


def test_the_loop_selects_labels_retrains_and_resumes(tmp_path, fake_nep, shared_data):
    executable = fake_nep("copy", {"*": shared_data / "nep" / "Si_2022_NEP4_3body.txt",
                                   "nepmodel_split2": shared_data / "nep" /
                                   "Si_2022_NEP4_4body.txt"})
    potential = tmp_path / "Si.tersoff"
    potential.write_text(SI_TERSOFF_LAMMPS)
    settings = parameters(
        tmp_path, executable, ensemble_size=2, validation_fraction=0.25,
        active_learning_generations=1,
        reference_calculator="ase.calculators.tersoff:Tersoff.from_lammps",
        reference_calculator_arguments=f'{{"potential_file": "{potential}"}}',
        uncertainty_threshold_mev_per_angstrom=1.0, max_new_structures=3, md_starts=1,
        md_steps=20, md_sample_interval=5, md_temperature_k=[600.0], seed=5)
    result = train_nep(settings)
    first = tmp_path / "out" / "generation_0"
    sampled = read(first / "sampled.xyz", ":")
    sigma = np.loadtxt(first / "uncertainty.csv", delimiter=",", skiprows=1)[:, 1]
    assert len(sampled) == 4 and np.all(sigma > 1.0)
    labelled = read(first / "labelled.xyz", ":")
    assert len(labelled) == 3
    # the most uncertain frames, labelled with the reference (Tersoff) energies and forces
    order = np.argsort(-sigma, kind="stable")[:3]
    for atoms, frame in zip(labelled, order):
        np.testing.assert_allclose(atoms.positions, sampled[frame].positions, atol=1e-6)
        reference = sampled[frame].copy()
        reference.calc = tersoff_si()
        assert atoms.get_potential_energy() == pytest.approx(reference.get_potential_energy(),
                                                             abs=1e-6)
        np.testing.assert_allclose(atoms.get_forces(), reference.get_forces(), atol=1e-6)
    # retrained on the initial 8 structures plus the 3 new ones
    retrained = read(tmp_path / "out" / "generation_1" / "nepmodel_full" / "train.xyz", ":")
    assert len(retrained) == 11
    assert result.model_path.read_text() == (
        tmp_path / "out" / "generation_1" / "nepmodel_full" / "nep.txt").read_text()
    assert result.active_learning == [dict(generation=0, n_training=8, n_sampled=4,
                                           n_selected=3, n_labelled=3,
                                           max_uncertainty_mev_per_angstrom=pytest.approx(
                                               sigma.max(), abs=1e-5))]
    assert result.metric("full", "train", "n_structures") == 11

    # Resuming: nothing is sampled, labelled or trained again.
    markers = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("generation_*/*/"
                                                                          ".mdinsim-done.json")}

    def no_md(*args, **kwargs):
        raise AssertionError("the MD ran again")
    again = train_nep(settings, md_sampler=no_md,
                      reference_calculator=lambda: pytest.fail("labelled again"))
    assert markers == {p: p.stat().st_mtime_ns for p in markers}
    assert again.active_learning == result.active_learning


def test_the_loop_stops_when_the_ensemble_agrees(tmp_path, fake_nep, shared_data):
    executable = fake_nep("copy", {"*": shared_data / "nep" / "Si_2022_NEP4_3body.txt",
                                   "nepmodel_split2": shared_data / "nep" /
                                   "Si_2022_NEP4_4body.txt"})
    calls = []

    def sampler(start, model_path, **kwargs):
        calls.append(kwargs)
        return [start.copy()]
    result = train_nep(parameters(
        tmp_path, executable, ensemble_size=2, validation_fraction=0.25,
        active_learning_generations=3, reference_calculator="ase.calculators.emt:EMT",
        uncertainty_threshold_mev_per_angstrom=1e6, md_starts=2, md_temperature_k=[300, 900]),
        md_sampler=sampler)
    assert len(calls) == 4 and {c["temperature_k"] for c in calls} == {300.0, 900.0}
    assert result.active_learning[0]["converged"] is True
    assert len(result.active_learning) == 1
    assert not (tmp_path / "out" / "generation_1").exists()


def test_samplers_return_frames_of_the_start_structure(tmp_path, shared_data):
    # the built-in Langevin sampler and the adapter to the suite's MD step (CPU backend here)
    from ase.build import bulk

    model = shared_data / "nep" / "Si_2022_NEP4_3body.txt"
    start = bulk("Si", "diamond", 5.43, cubic=True)
    for sampler in (langevin_sampler, mdinsim_md_sampler(tmp_path, backend="cpu")):
        frames = sampler(start, model, temperature_k=300.0, n_steps=40, time_step_fs=1.0,
                         sample_interval=10, seed=3)
        assert len(frames) == 4
        for frame in frames:
            assert frame.get_chemical_symbols() == ["Si"] * 8
            np.testing.assert_allclose(frame.cell.array, start.cell.array)
            # thermal displacements at 300 K: small but not zero (minimum image)
            from ase.geometry import find_mic

            _, displacement = find_mic(frame.positions - start.positions, start.cell, True)
            assert 0.0 < displacement.max() < 0.5
