"""Ensemble force uncertainty (GPUMD's active sigma_f) on fabricated disagreements, on GPUMD's
own per-model predictions, and from NEP4 models; NEP3 models get a clear error."""

import numpy as np
import pytest
from ase.build import bulk

from mantid_mdinsim.errors import InputFileError
from mantid_mdinsim.train import (Ensemble, force_standard_deviation_per_atom,
                                  force_uncertainty, read_active_out, read_observer_predictions)


def test_fabricated_disagreement_has_the_analytic_uncertainty():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(5, 3))
    forces = np.repeat(base[None], 4, axis=0)
    # atom 3: models disagree by +-0.2 in x and +-0.1 in z; population variances 0.04 + 0.01
    forces[:, 3, 0] += [0.2, -0.2, 0.2, -0.2]
    forces[:, 3, 2] += [0.1, 0.1, -0.1, -0.1]
    # atom 1: a smaller disagreement in y, variance 0.0025
    forces[:, 1, 1] += [0.05, -0.05, -0.05, 0.05]
    per_atom = force_standard_deviation_per_atom(forces)
    np.testing.assert_allclose(per_atom, [0, 0.05, 0, np.sqrt(0.05), 0], atol=1e-12)
    assert force_uncertainty(forces) == pytest.approx(np.sqrt(0.05))
    assert force_uncertainty(np.repeat(base[None], 3, axis=0)) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="at least two models"):
        force_uncertainty(forces[:1])


def test_uncertainty_from_gpumds_observer_files(shared_data):
    # dump_observer observe: the same four MD frames evaluated by two carbon NEP3 potentials.
    # For two models the population standard deviation of each component is |a - b| / 2, so
    # sigma_f = max_i |F1_i - F2_i| / 2.
    from ase.io import read

    folder = shared_data / "gpumd-samples" / "dump_observer"
    paths = [folder / "reference_observer0.xyz", folder / "reference_observer1.xyz"]
    frames, sigma = read_observer_predictions(paths)
    assert len(frames) == 4 and len(frames[0]) == 159
    first, second = (read(path, ":") for path in paths)
    expected = [1e3 * np.max(np.linalg.norm(a.get_forces() - b.get_forces(), axis=1)) / 2
                for a, b in zip(first, second)]
    np.testing.assert_allclose(sigma, expected, rtol=1e-12)


def test_nep3_ensemble_gets_an_error_that_says_what_to_do(shared_data):
    folder = shared_data / "nep" / "ch_ensemble"
    with pytest.raises(InputFileError) as error:
        Ensemble(sorted(folder.glob("nep_split*.txt")))
    message = str(error.value)
    assert "nep_split1.txt: a NEP3 model: calorine's CPUNEP evaluates NEP4 only" in message
    assert "dump_observer observe" in message and "--ensemble-size" in message


def test_active_out_is_read_in_mev(tmp_path):
    (tmp_path / "active.out").write_text("1 0.0123\n2 0.2\n")
    time_fs, sigma = read_active_out(tmp_path / "active.out")
    np.testing.assert_allclose(time_fs, [1, 2])
    np.testing.assert_allclose(sigma, [12.3, 200.0])


def test_nep4_models_disagree_more_far_from_their_training_data(shared_data):
    # Two published silicon NEP4 models fitted to the same data (Bartok et al. 2018): close
    # to the diamond structure they agree, far from it (a strongly distorted crystal) less so.
    ensemble = Ensemble([shared_data / "nep" / "Si_2022_NEP4_3body.txt",
                         shared_data / "nep" / "Si_2022_NEP4_4body.txt"])
    near, far = bulk("Si", "diamond", 5.43, cubic=True), bulk("Si", "diamond", 5.43, cubic=True)
    near.rattle(0.01, seed=1)
    far.rattle(0.4, seed=1)
    prediction = ensemble.predict([near, far])
    sigma = prediction.force_uncertainty_mev_per_angstrom()
    assert 0 < sigma[0] < sigma[1]
    # the same value from the per-model forces, by the two-model formula |F1 - F2| / 2
    for k, structure_forces in enumerate(prediction.forces_ev_per_angstrom):
        expected = 1e3 * np.max(np.linalg.norm(structure_forces[0] - structure_forces[1],
                                               axis=1)) / 2
        assert sigma[k] == pytest.approx(expected)
    # one model is no ensemble: its mean equals its own prediction
    assert ensemble.predict([near]).energy_per_atom_ev.shape == (2, 1)
