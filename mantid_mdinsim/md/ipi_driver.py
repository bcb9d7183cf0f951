"""The NEP inside i-PI's own process: a PES for i-PI's ``<ffdirect pes='custom'>``.

i-PI loads this file by its path (``pes_path``; :func:`mantid_mdinsim.md.pimd.input_xml`) as a
top-level module, so the imports here are absolute. The server then calls calorine's CPUNEP
for each bead directly, in place of a unix-socket round trip to a force client process per
evaluation (ASE's SocketClient): one process instead of two or more, no positions and forces
serialised through the socket, and no polling between them. With several force processes
(``--processes`` > 1) the beads are spread over socket clients instead (``md/pimd.py``).

``<parameters>`` of the ffdirect: ``{template: <extended XYZ of the structure>, model:
<NEP file>}``.
"""

from __future__ import annotations

# ASEDriver is private to i-PI (its module starts with _); pyproject's pimd extra pins the
# i-PI it was checked against.
from ipi.pes._ase import ASEDriver

# i-PI finds the class by these two names (ipi/pes/__init__.py: load_pes).
__DRIVER_NAME__ = "mdinsim_nep"
__DRIVER_CLASS__ = "NEPDriver"


class NEPDriver(ASEDriver):
    """calorine's CPUNEP as an i-PI PES: energy, forces and stress of one bead per call
    (ASEDriver converts the units and the stress to i-PI's virial)."""

    def __init__(self, template: str, model: str, *args, **kwargs):
        self.model = model
        super().__init__(template, *args, **kwargs)

    def check_parameters(self) -> None:
        super().check_parameters()
        from mantid_mdinsim.atomistic import calorine_loading  # noqa: F401  - no scikit-learn
        from calorine.calculators import CPUNEP  # (as above)

        self.ase_calculator = CPUNEP(self.model)
        self.atoms = self.template_ase.copy()
        self.atoms.calc = self.ase_calculator

    def compute_structure(self, cell, pos):
        """One bead. ASEDriver's own asks ASE for every property the calculator holds, and
        ASE refuses CPUNEP's per-atom virials (shape (N, 9)); the three needed are asked for
        one by one (CPUNEP computes them in one call and caches them)."""
        cell, pos = self.convert_units(cell, pos)
        self.atoms.set_cell(cell)
        self.atoms.set_positions(pos)
        properties = {"energy": self.atoms.get_potential_energy(),
                      "forces": self.atoms.get_forces(),
                      "stress": self.atoms.get_stress()}
        return self.post_process(properties, self.atoms)
