"""The layer below the steps for what several of them share: reading and checking the
structure and the NEP model (:mod:`.inputs`, the species rule in :mod:`.species`), forces on
displaced supercells (:mod:`.forces`).

It imports only the bottom layer (errors, progress, io, units), so the step packages (md,
harmonic, predict, ...) depend on it and never on each other's private modules.
"""
