"""The out-of-plane force term of neppo trainings (``train/neppo_out_of_plane.py``): the ring
normals against each molecule's least-squares plane, and the term against forces built to be
in-plane or out-of-plane (benzene I, the example's GFN1-xTB cell)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("neppo")

BENZENE = (Path(__file__).resolve().parents[2] / "examples" / "benzene_model"
           / "benzene_pbca_gfn1xtb.xyz")
NEP_IN = ("type 2 C H\nversion 4\ncutoff 5 4\nn_max 4 4\nbasis_size 4 4\nl_max 4 2 0\n"
          "neuron 8\nbatch 2\ngeneration 3\noutput_interval 1\nseed 3\n")


def _labelled(atoms):
    """``atoms`` with zero energy, forces and stress as placeholder labels."""
    from ase.calculators.singlepoint import SinglePointCalculator

    atoms.calc = SinglePointCalculator(atoms, energy=0.0, forces=np.zeros((len(atoms), 3)),
                                       stress=np.zeros(6))
    return atoms


def _benzene_cells(count: int = 2):
    """The example's cell, rattled (seeded), with placeholder labels."""
    from ase.io import read

    cells = []
    for seed in range(count):
        atoms = read(BENZENE)
        atoms.rattle(0.02, seed=seed)
        cells.append(_labelled(atoms))
    return cells


def _plane_normals(atoms) -> np.ndarray:
    """Independent reference: the normal of each molecule's least-squares plane (SVD of its
    minimum-image positions), for each of its atoms."""
    from ase.neighborlist import natural_cutoffs, NeighborList
    from scipy.sparse.csgraph import connected_components

    neighbours = NeighborList(natural_cutoffs(atoms), self_interaction=False, bothways=True)
    neighbours.update(atoms)
    _, labels = connected_components(neighbours.get_connectivity_matrix())
    normals = np.zeros((len(atoms), 3))
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        vectors = atoms.positions[members] - atoms.positions[members[0]]
        fractional = np.linalg.solve(atoms.cell.array.T, vectors.T).T
        vectors = (fractional - np.round(fractional)) @ atoms.cell.array
        vectors -= vectors.mean(axis=0)
        normals[members] = np.linalg.svd(vectors)[2][2]
    return normals


def _batch(cells):
    from neppo.nep_in import get_model
    from neppo.structure_container import StructureContainer

    settings = {line.split()[0]: line.split()[1:] for line in NEP_IN.splitlines()}
    model = get_model(settings)
    container = StructureContainer(model, cells)
    model.max_neighbors_radial = container.max_neighbors_radial
    model.max_neighbors_angular = container.max_neighbors_angular
    batch, targets = container.get_batches(len(cells))[0]
    return model, batch, targets


def test_ring_normals_are_the_normals_of_each_molecules_plane():
    """Every C and H of the unrattled crystal gets its molecule's plane normal (to 1e-3)."""
    from ase.io import read

    from mantid_mdinsim.train.neppo_out_of_plane import ring_normals

    atoms = _labelled(read(BENZENE))
    model, batch, _ = _batch([atoms])
    normals = ring_normals(batch, list(model.types)).numpy()[:len(atoms)]
    alignment = np.abs(np.sum(normals * _plane_normals(atoms), axis=1))
    assert alignment == pytest.approx(1.0, abs=1e-3)


def test_term_sees_only_the_force_error_along_the_ring_normals():
    """Targets = the model's forces plus an error: an in-plane error (normal x random) leaves the
    term at zero; an error of 0.05 eV/Angstrom along every atom's normal gives the mean square
    0.05^2, on top of any in-plane part."""
    import torch

    from mantid_mdinsim.train.neppo_out_of_plane import make_term, ring_normals

    cells = _benzene_cells(2)
    model, batch, targets = _batch(cells)
    results = {name: value.detach() for name, value in model(batch).items()}
    normals = ring_normals(batch, list(model.types)).to(results["forces"].dtype)
    targets.out_of_plane_normals = normals  # what install() adds to each batch
    in_plane = torch.linalg.cross(normals, torch.randn(normals.shape,
                                                       generator=torch.Generator().manual_seed(1),
                                                       dtype=normals.dtype))
    term = make_term()
    targets.forces = results["forces"] - in_plane
    sum_of_squares, count = term.get_sums(results, targets, model)
    assert int(count) == sum(len(atoms) for atoms in cells)  # every C and H, no padding
    assert float(sum_of_squares) == pytest.approx(0.0, abs=1e-9)
    targets.forces = results["forces"] - in_plane - 0.05 * normals
    sum_of_squares, count = term.get_sums(results, targets, model)
    assert float(sum_of_squares / count) == pytest.approx(0.05 ** 2, rel=1e-4)


def test_install_adds_the_weighted_term_and_normals_to_a_neppo_run(tmp_path):
    """neppo's nep.in run with the term installed (as neppo_runner does): its loss holds the term
    with weight * sigma, and every training and evaluation batch carries normals."""
    import neppo.nep_in
    from ase.io import write
    from neppo.trainer import Trainer

    from mantid_mdinsim.train import neppo_out_of_plane

    write(tmp_path / "train.xyz", _benzene_cells(2))
    (tmp_path / "nep.in").write_text(NEP_IN)
    get_loss, initialise = neppo.nep_in.get_loss, Trainer.__init__
    try:
        neppo_out_of_plane.install(4.0)
        trainer = neppo.nep_in.run(tmp_path, device="cpu")
    finally:
        neppo.nep_in.get_loss, Trainer.__init__ = get_loss, initialise
    term = trainer.loss.terms[-1]
    assert term.name == neppo_out_of_plane.TERM_NAME
    assert term.weight == pytest.approx(4.0 * term.sigma)
    pairs = trainer._batches + [pair for pairs in trainer._evaluation_batches.values()
                                for pair in pairs]
    for batch, targets in pairs:
        real = targets.atom_mask > 0
        lengths = targets.out_of_plane_normals.norm(dim=1)
        assert lengths[real].numpy() == pytest.approx(1.0, abs=1e-5)


def test_gpumd_refuses_the_out_of_plane_term():
    from mantid_mdinsim.errors import ParameterError
    from mantid_mdinsim.train import NepHyperparameters

    hyper = NepHyperparameters(species=("C", "H"), lambda_force_out_of_plane=1.0)
    with pytest.raises(ParameterError, match="lambda_force_out_of_plane"):
        hyper.check_backend("gpumd")
    hyper.check_backend("neppo")


def test_a_model_trained_without_the_term_is_not_taken_for_one_with_it(tmp_path):
    """nep.in does not hold the term, so its weight enters the signature that decides whether a
    finished model in the output folder is reused."""
    from mantid_mdinsim.train import NepHyperparameters
    from mantid_mdinsim.train.fitting import _signature

    (tmp_path / "nep.in").write_text(NEP_IN)
    signatures = {_signature(tmp_path, "neppo", NepHyperparameters(
        species=("C", "H"), lambda_force_out_of_plane=weight)) for weight in (0.0, 3.0, 10.0)}
    assert len(signatures) == 3
