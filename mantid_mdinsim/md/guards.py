"""Physics guards of a running MD simulation: stop a run that has become unphysical.

A structure with overlapping atoms, a time step too long for the fastest vibration or a
model used outside its training data make a run blow up (seen: 1.8e13 K) while it goes on
writing frames that the S(q,w) step would average as data. Every backend checks its state
between chunks of steps (CPU) or its output (GPUMD) with :func:`runaway_problem` and stops
with :class:`~mantid_mdinsim.errors.PhysicsError`, keeping what was completed before.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ..errors import PhysicsError

#: A temperature above ``RUNAWAY_TEMPERATURE_FACTOR * target + RUNAWAY_TEMPERATURE_OFFSET_K``
#: is a run-away: the canonical fluctuations of even a few atoms stay well below it.
RUNAWAY_TEMPERATURE_FACTOR = 10.0
RUNAWAY_TEMPERATURE_OFFSET_K = 1000.0
#: A change of the total energy of NVE production beyond this, eV per atom, is a run-away
#: (a stable run drifts by 1e-5 eV/atom/ps or less).
RUNAWAY_ENERGY_EV_PER_ATOM = 1.0

FIX = ("check the structure (overlapping atoms, the length unit), shorten --time-step-fs, "
       "and check that the model was trained for these structures and temperatures")


def temperature_limit_k(target_k: float) -> float:
    return RUNAWAY_TEMPERATURE_FACTOR * target_k + RUNAWAY_TEMPERATURE_OFFSET_K


def runaway_problem(positions: np.ndarray | None = None, temperature_k: float | None = None,
                    target_k: float | None = None, energy_change_ev_per_atom: float | None = None,
                    closest: tuple[float, int, int] | None = None,
                    min_distance_angstrom: float = 0.0) -> str | None:
    """What is unphysical about the state, or None. Each argument left at None is not checked;
    ``closest`` is :func:`~mantid_mdinsim.md.inputs.shortest_distance`'s answer."""
    if positions is not None and not np.all(np.isfinite(positions)):
        atom = int(np.argwhere(~np.isfinite(positions))[0][0])
        return f"the position of atom {atom} is no longer a finite number"
    if temperature_k is not None and target_k is not None:
        limit = temperature_limit_k(target_k)
        if not np.isfinite(temperature_k) or temperature_k > limit:
            return (f"the temperature ran away to {temperature_k:.3g} K (target {target_k:g} K, "
                    f"limit {limit:g} K)")
    if energy_change_ev_per_atom is not None and (
            not np.isfinite(energy_change_ev_per_atom)
            or abs(energy_change_ev_per_atom) > RUNAWAY_ENERGY_EV_PER_ATOM):
        return (f"the total energy changed by {energy_change_ev_per_atom:.3g} eV/atom in NVE "
                f"(limit {RUNAWAY_ENERGY_EV_PER_ATOM:g} eV/atom)")
    if closest is not None:
        distance, i, j = closest
        return (f"atoms {i} and {j} came {distance:.3g} Angstrom close (limit "
                f"{min_distance_angstrom:g} Angstrom)")
    return None


def check_thermo(thermo: Mapping[str, np.ndarray], label: str, target_k: float,
                 what: str) -> None:
    """Stop where an external engine's run (gpumd, i-PI) blew up, from its thermo table: a
    run-away or non-finite temperature or total energy. ``what`` names the run in the message
    (and where its outputs are kept)."""
    problem = None
    for value in np.asarray(thermo["temperature_k"], dtype=float):
        problem = runaway_problem(temperature_k=float(value), target_k=target_k)
        if problem:
            break
    if problem is None and not np.all(np.isfinite(np.asarray(thermo["total_energy_ev"],
                                                              dtype=float))):
        problem = "the total energy is no longer a finite number"
    if problem is not None:
        raise PhysicsError(f"{label}: {what} became unphysical: {problem}; {FIX}")
