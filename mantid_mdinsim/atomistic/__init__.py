"""The layer below the steps for what several of them share: reading and checking the
structure and the NEP model (:mod:`.inputs`, the species rule in :mod:`.species`), forces on
displaced supercells (:mod:`.forces`).

It imports only the bottom layer (errors, progress, io, units), so the step packages (md,
harmonic, predict, ...) depend on it and never on each other's private modules.
"""

#: Default smallest distance between two atoms of an input structure, Angstrom. The shortest
#: bond in nature (H2) is 0.74 Angstrom; atoms closer than this are overlapping (a duplicated
#: site, an occupancy-disordered CIF read as both sites, a unit mistake), and MD or a
#: relaxation from there blows up (1.8e13 K) or ends in nonsense (0.27 Angstrom apart).
MIN_ATOM_DISTANCE_ANGSTROM = 0.5  # here, not in .inputs: --help needs it without ASE
