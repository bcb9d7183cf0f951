"""train and harmonic on Dask: ensemble members, reference calculations of active learning and
displaced-cell force evaluations as tasks give what they give in one process.

References: the same function in this process (itself tested against GPUMD's files, Tersoff and
experiment in tests/train and tests/harmonic), and for the labels ASE's Tersoff calculator called
directly here."""

from __future__ import annotations

import numpy as np
import pytest

from mantid_mdinsim import execution

from .dask_processes import scheduler_and_workers
from .train.conftest import SI_TERSOFF_LAMMPS, si_structures, tersoff_si
from .train.test_gpumd_backend import fake_nep, parameters  # noqa: F401  - the fixture

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning",
                                        "ignore::ResourceWarning")


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    """`dask scheduler` + two `dask worker` processes on 127.0.0.1."""
    with scheduler_and_workers(tmp_path_factory.mktemp("dask")) as cluster:
        yield cluster


def test_reference_labels_computed_on_the_cluster_are_tersoffs(remote, tmp_path):
    from mantid_mdinsim.train import label_structures, load_reference_calculator

    potential = tmp_path / "Si.tersoff"
    potential.write_text(SI_TERSOFF_LAMMPS)
    factory = load_reference_calculator("ase.calculators.tersoff:Tersoff.from_lammps",
                                        {"potential_file": str(potential)})
    structures = si_structures(4, seed=9)
    with execution.session(remote.address):
        labelled = label_structures(structures, factory)
    for structure, atoms in zip(structures, labelled):
        direct = structure.copy()
        direct.calc = tersoff_si()
        assert atoms.get_potential_energy() == pytest.approx(direct.get_potential_energy(),
                                                             rel=1e-12)
        np.testing.assert_allclose(atoms.get_forces(), direct.get_forces(), rtol=1e-12,
                                   atol=1e-12)
        np.testing.assert_allclose(atoms.get_stress(), direct.get_stress(), rtol=1e-12,
                                   atol=1e-12)


def test_displaced_cells_on_the_cluster_give_the_same_force_constants(remote, shared_data):
    from ase.build import bulk

    from mantid_mdinsim.harmonic import harmonic_phonons

    model = shared_data / "nep" / "Si_2022_NEP4_3body.txt"
    settings = dict(supercell=(2, 2, 2), relax="none")
    here = harmonic_phonons(bulk("Si", "diamond", a=5.431), model, **settings)
    with execution.session(remote.address):
        there = harmonic_phonons(bulk("Si", "diamond", a=5.431), model, **settings)
    assert np.array_equal(here.phonopy.forces, there.phonopy.forces)
    assert np.array_equal(here.force_constants.force_constants.magnitude,
                          there.force_constants.force_constants.magnitude)


def test_ensemble_members_train_as_tasks_on_local_2(tmp_path, fake_nep, shared_data):  # noqa: F811
    """The stand-in nep writes a known model per member (as in test_gpumd_backend's pipeline
    test): each member, trained by a worker, must end up with its own."""
    from mantid_mdinsim.train import train_nep
    from mantid_mdinsim.train.fitting import DONE_MARKER

    three_body = shared_data / "nep" / "Si_2022_NEP4_3body.txt"
    four_body = shared_data / "nep" / "Si_2022_NEP4_4body.txt"
    executable = fake_nep("copy", {"*": three_body, "nepmodel_split2": four_body})
    result = train_nep(parameters(tmp_path, executable, ensemble_size=2,
                                  validation_fraction=0.25, scheduler="local:2"))
    assert result.model_path.read_text() == three_body.read_text()
    assert [p.read_text() for p in result.ensemble_paths] == [three_body.read_text(),
                                                              four_body.read_text()]
    done = sorted(p.parent.name for p in result.output_directory.glob(f"nepmodel_*/{DONE_MARKER}"))
    assert done == ["nepmodel_full", "nepmodel_split1", "nepmodel_split2"]
    # the metrics are the models' own (read back and evaluated here, as in one process)
    assert result.metric("split2", "train", "force_rmse_mev_per_angstrom") != \
        result.metric("split1", "train", "force_rmse_mev_per_angstrom")
