"""An extra neppo loss term: the force error normal to each atom's aromatic ring (run inside
:mod:`.neppo_runner`'s process; imports only the standard library, torch and neppo).

Why: in a planar molecule the out-of-plane bending forces (benzene's C-H "umbrella" and
"chair-like" modes, 81-86 meV) are a few tens of meV/Angstrom, a small part of a force loss
dominated by the bond stretches, so a normal training fits them last (examples/README.md,
"Out-of-plane C-H modes"). Weighting whole cells moves those modes but also every other force of
those cells. This term weights only the component of each atom's force error along the normal
of its ring, so the in-plane forces keep their usual weight.

The normal of a ring atom (``ring_species``, e.g. C) is the cross product of the bonds to its
two nearest ring neighbours (both within ``ring_bond_angstrom``); a terminal atom
(``terminal_species``, e.g. H) bonded to a ring atom (within ``terminal_bond_angstrom``) takes
that atom's normal. Atoms without a normal (other species, or a ring atom without exactly two
ring neighbours) do not enter the term. The normals are computed once per training batch from
the batch's own edge vectors (the minimum-image bonds of each cell), not at every step: the
cells do not move during training.

The term is ``weight * sigma * M / (2 sigma^2)`` with ``M`` the weighted mean square of the
normal components (each atom with the square of its structure's ``weight``), as neppo's
``nep.in`` builds its force term from ``lambda_f``: a weight of 1 gives the normal components
the same weight again that the force term gives each Cartesian component.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Name of the term in neppo's history and log.
TERM_NAME = "forces_out_of_plane"


def ring_normals(batch, species_names: list[str], ring_species: str = "C",
                 terminal_species: str = "H", ring_bond_angstrom: float = 1.7,
                 terminal_bond_angstrom: float = 1.3):
    """Unit normal of each atom's ring, shape ``(n_atoms, 3)``, zero where none is defined,
    from a neppo ``Batch`` (edge_index: centre, neighbour; edge_vectors: centre -> neighbour)."""
    import torch

    n_atoms = len(batch.species)
    normals = torch.zeros((n_atoms, 3), dtype=batch.edge_vectors.dtype)
    if ring_species not in species_names:
        return normals
    ring = species_names.index(ring_species)
    terminal = (species_names.index(terminal_species)
                if terminal_species in species_names else -1)
    centre, neighbour = batch.edge_index[0], batch.edge_index[1]
    lengths = batch.edge_vectors.norm(dim=1)
    species = batch.species
    # ring atoms: bonds to ring atoms, two per atom
    ring_bond = ((species[centre] == ring) & (species[neighbour] == ring)
                 & (lengths < ring_bond_angstrom) & (lengths > 0.5))
    for atom in torch.unique(centre[ring_bond]).tolist():
        bonds = batch.edge_vectors[ring_bond & (centre == atom)]
        if len(bonds) != 2:
            continue  # not a ring atom in a planar ring of single bonds
        normal = torch.linalg.cross(bonds[0], bonds[1])
        size = normal.norm()
        if size > 1e-6:
            normals[atom] = normal / size
    if terminal >= 0:
        terminal_bond = ((species[centre] == terminal) & (species[neighbour] == ring)
                         & (lengths < terminal_bond_angstrom))
        for edge in torch.nonzero(terminal_bond).flatten().tolist():
            normals[centre[edge]] = normals[neighbour[edge]]
    return normals


def make_term(sigma: float = 0.03, form: str = "mse"):
    """neppo loss term: the error of the force component along each atom's ring normal."""
    from neppo.losses import LossTerm

    class OutOfPlaneForceLoss(LossTerm):
        default_name = TERM_NAME
        required_results = ("forces",)

        def get_residuals(self, results, targets, model):
            normals = getattr(targets, "out_of_plane_normals", None)
            if normals is None:  # a batch without normals (not prepared): no entries
                normals = results["forces"].new_zeros(results["forces"].shape)
            has_normal = (normals.abs().sum(dim=1) > 0).to(results["forces"].dtype)
            residuals = ((results["forces"] - targets.forces) * normals).sum(dim=1,
                                                                              keepdim=True)
            mask = targets.atom_mask * has_normal
            return residuals, targets.atom_weight ** 2 * mask, mask

    return OutOfPlaneForceLoss(sigma=sigma, form=form)


def _targets_with_normals_class():
    from neppo.structure_container import Targets

    @dataclass
    class TargetsWithNormals(Targets):
        out_of_plane_normals: object = None

    return TargetsWithNormals


def install(weight: float) -> None:
    """Add the term with ``weight`` to every loss neppo's ``nep.in`` builds, and give each batch
    of the trainer (training and evaluation) its ring normals."""
    import neppo.nep_in
    from neppo.trainer import Trainer

    if not weight > 0:
        raise ValueError(f"out-of-plane force weight must be positive: {weight}")
    get_loss, initialise = neppo.nep_in.get_loss, Trainer.__init__
    targets_class = _targets_with_normals_class()

    def get_loss_with_term(settings, *arguments, **options):
        loss = get_loss(settings, *arguments, **options)
        term = make_term(form=settings.get("loss_form", ["mse"])[0])
        return loss + weight * term.sigma * term

    def with_normals(pairs, species_names):
        return [(batch, targets_class(**vars(targets),
                                      out_of_plane_normals=ring_normals(batch, species_names)
                                      .to(targets.forces.dtype)))
                for batch, targets in pairs]

    def initialise_with_normals(self, *arguments, **options):
        initialise(self, *arguments, **options)
        names = list(self.model.types)
        self._batches = with_normals(self._batches, names)
        self._evaluation_batches = {label: with_normals(pairs, names)
                                    for label, pairs in self._evaluation_batches.items()}

    neppo.nep_in.get_loss = get_loss_with_term
    Trainer.__init__ = initialise_with_normals
