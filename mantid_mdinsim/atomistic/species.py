"""The rule of every species check: which species of a structure a model does not cover.

A structure for MD or phonons (:func:`~.inputs.check_species`) and the training and test sets
(``train/dataset.py``) each report it in their own terms; the rule itself is here, in a module
light enough for the commands' ``--help`` (no ase.neighborlist, no scipy).
"""

from __future__ import annotations

from typing import Iterable

from ase import Atoms


def species_not_covered(atoms: Atoms, model_species: Iterable[str]) -> list[str]:
    """The species (chemical symbols) of ``atoms`` that a model trained on ``model_species``
    does not cover, sorted; empty when it covers them all."""
    return sorted(set(atoms.get_chemical_symbols()) - set(model_species))
