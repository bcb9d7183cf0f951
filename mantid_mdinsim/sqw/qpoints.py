"""q-points commensurate with the supercell, in 1/Angstrom (Cartesian, 2 pi included).

Only q-points on the reciprocal lattice of the simulation supercell are meaningful: there
``exp(i q.r)`` is the same for every periodic image of an atom, so wrapped coordinates give the
same density Fourier components as unwrapped ones. Every q-point is therefore kept with its
integer coordinates ``n`` on the reciprocal supercell lattice (``q = n @ B``, ``B`` the reciprocal
supercell vectors as rows), which is also what the kernels use.

Three ways to choose them:

* :func:`spherical_qpoints`: all lattice points with 0 < |q| <= q_max, pruned at random to about
  ``q_count`` points spread evenly in |q| (dynasor's ``get_spherical_qpoints``);
* :func:`path_qpoints`: the commensurate points on a path through high-symmetry points of the
  primitive cell (ASE's special points, dynasor's ``find_on_line``), repeated in several
  Brillouin zones chosen at random below a |q| limit (the paper's 52 zones up to 12 1/Angstrom);
* :func:`file_qpoints`: an explicit list (three columns, 1/Angstrom).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from ase.cell import Cell

from ..errors import InputFileError, ParameterError
from .kernels import sphere_lattice_points

#: Largest distance of a reduced coordinate from an integer still taken as commensurate (the
#: q-point is then snapped onto the lattice point).
COMMENSURATE_TOLERANCE = 1e-4


@dataclass
class QPoints:
    """A q-point list.

    Attributes
    ----------
    cartesian
        ``(n_q, 3)`` q-vectors in 1/Angstrom (2 pi included).
    indices
        ``(n_q, 3)`` integer coordinates on the reciprocal lattice of the supercell.
    columns
        Extra per-q information for the output table (zone, path distance, labels), by name.
    notes
        Sample-log entries describing how the list was made.
    """

    cartesian: np.ndarray
    indices: np.ndarray
    columns: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.cartesian)

    @property
    def norms(self) -> np.ndarray:
        """|q| in 1/Angstrom."""
        return np.linalg.norm(self.cartesian, axis=1)


def reciprocal_cell(cell: np.ndarray) -> np.ndarray:
    """Reciprocal lattice vectors (rows, 1/Angstrom, 2 pi included) of ``cell`` (rows)."""
    return 2 * np.pi * np.linalg.inv(np.asarray(cell, dtype=float)).T


#: Largest reciprocal-lattice coordinate of a q-point (far beyond any physical |Q|).
MAX_Q_INDEX = 1.0e6


def commensurate_indices(q_points: np.ndarray, cell: np.ndarray, source: str,
                         path: str | os.PathLike | None = None,
                         lines: Sequence[int] | None = None) -> np.ndarray:
    """Integer reciprocal-supercell coordinates of ``q_points``; raise if one is not on the lattice.

    ``source`` names where the q-points came from, for the message (a parameter or a file).
    """
    q_points = np.asarray(q_points, dtype=float).reshape(-1, 3)
    with np.errstate(over="ignore", invalid="ignore"):
        reduced = q_points @ np.asarray(cell, dtype=float).T / (2 * np.pi)
    huge = np.nonzero(~np.all(np.abs(reduced) < MAX_Q_INDEX, axis=1))[0]
    if len(huge):
        # 1e308 would overflow to inf and be cast to a garbage integer, silently.
        index = int(huge[0])
        where = f"line {lines[index]}" if lines is not None else None
        problem = (f"q-point {index} ({_vector(q_points[index])}) 1/Angstrom is not a usable "
                   f"q-point (its coordinates on the reciprocal supercell lattice are beyond "
                   f"{MAX_Q_INDEX:.0e})")
        fix = "give q-points of at most a few hundred 1/Angstrom"
        if path is not None:
            raise InputFileError(path, problem, where=where, fix=fix)
        raise ParameterError(source, problem, fix)
    nearest = np.rint(reduced)
    bad = np.nonzero(np.max(np.abs(reduced - nearest), axis=1) > COMMENSURATE_TOLERANCE)[0]
    if len(bad):
        index = int(bad[0])
        suggestion = nearest[index] @ reciprocal_cell(cell)
        where = f"line {lines[index]}" if lines is not None else None
        problem = (f"q-point {index} ({_vector(q_points[index])}) 1/Angstrom is not "
                   f"commensurate with the supercell: its coordinates on the reciprocal "
                   f"supercell lattice are ({_vector(reduced[index], '.4f')}), not integers"
                   + (f" ({len(bad)} of {len(q_points)} q-points are not)" if len(bad) > 1
                      else ""))
        fix = (f"use the nearest commensurate q-point ({_vector(suggestion, '.6f')}), i.e. "
               "integer combinations of the reciprocal supercell vectors "
               + "; ".join(_vector(b, '.6f') for b in reciprocal_cell(cell))
               + ", or let --q-max/--q-path choose commensurate q-points")
        if path is not None:
            raise InputFileError(path, problem, where=where, fix=fix)
        raise ParameterError(source, problem, fix)
    return nearest.astype(np.int64)


def _vector(values: np.ndarray, spec: str = ".4g") -> str:
    return ", ".join(format(float(v), spec) for v in values)


def _from_indices(indices: np.ndarray, cell: np.ndarray, **kwargs: Any) -> QPoints:
    indices = np.asarray(indices, dtype=np.int64).reshape(-1, 3)
    return QPoints(indices @ reciprocal_cell(cell), indices, **kwargs)


# -- spherical sampling ----------------------------------------------------------------------
#: The most lattice points of the bounding box of the q-sphere that are scanned (the paper's Si
#: supercells at 12 1/Angstrom: about 10^8).
MAX_SCANNED_LATTICE_POINTS = 1e10


def spherical_qpoints(cell: np.ndarray, q_max_inv_angstrom: float, q_count: int,
                      seed: int = 42) -> QPoints:
    """Commensurate q-points with 0 < |q| <= q_max, about ``q_count`` of them.

    dynasor's scheme (``get_spherical_qpoints``): every lattice point inside the sphere of
    radius q_prune is kept, and beyond it each is kept with probability (q_prune/|q|)^2, so that
    the number of points per |q| interval is about constant; q_prune is chosen so that about
    ``q_count`` points remain. It is reimplemented here (a numba loop over the points of the
    sphere, drawing as it goes) because dynasor first lists every lattice point of the
    sphere's bounding box in Python, about 10^8 for the paper's supercells. q = 0 (the
    unscattered beam, whose S holds the N delta(w) term of the mean density) is left out.
    """
    cell = np.asarray(cell, dtype=float)
    reciprocal = reciprocal_cell(cell)
    shortest = float(np.min(np.linalg.norm(reciprocal, axis=1)))
    volume = abs(float(np.linalg.det(reciprocal)))
    q_prune = _prune_distance(q_count, q_max_inv_angstrom, volume)
    # n_d = q.a_d / (2 pi), so |n_d| <= q_max |a_d| / (2 pi)
    limits = np.floor(q_max_inv_angstrom * np.linalg.norm(cell, axis=1) / (2 * np.pi)
                      + 1e-9).astype(np.int64)
    box_points = float(np.prod(2.0 * limits + 1.0))
    if box_points > MAX_SCANNED_LATTICE_POINTS:
        # The loop below visits every point of the box: 10^18 of them (q-max 1e6) never ends.
        raise ParameterError("q_max_inv_angstrom", f"{q_max_inv_angstrom:g} 1/Angstrom spans "
                             f"{box_points:.3g} reciprocal lattice points of this supercell, "
                             f"more than the {MAX_SCANNED_LATTICE_POINTS:.0e} that can be scanned",
                             "give a smaller --q-max (neutron spectrometers reach about 30 "
                             "1/Angstrom at most)")
    indices = sphere_lattice_points(reciprocal, limits, float(q_max_inv_angstrom),
                                    float(min(q_prune, q_max_inv_angstrom)), seed % 2**32)
    if len(indices) == 0:
        raise ParameterError("q_max_inv_angstrom", f"no commensurate q-point has |q| <= "
                             f"{q_max_inv_angstrom:g} 1/Angstrom",
                             f"the shortest reciprocal supercell vector is {shortest:.4g} "
                             "1/Angstrom: raise --q-max above it")
    norms = np.linalg.norm(indices @ reciprocal, axis=1)
    order = np.lexsort((indices[:, 2], indices[:, 1], indices[:, 0], np.round(norms, 10)))
    return _from_indices(indices[order], cell, notes={
        "q_sampling": "spherical", "q_points_used": len(order),
        "q_prune_inv_angstrom": float(min(q_prune, q_max_inv_angstrom))})


def _prune_distance(count: int, q_max: float, volume: float) -> float:
    """q_prune with count = (4 pi / volume) (q_prune^3 / 3 + q_prune^2 (q_max - q_prune)): all
    points inside q_prune, a fraction (q_prune/q)^2 outside (dynasor's ``_get_prune_distance``
    for q_min = 0). Returns q_max when the sphere holds fewer points than wanted."""
    if 4 * np.pi * q_max ** 3 / (3 * volume) <= count:
        return q_max
    roots = np.roots([2.0 / 3.0, -q_max, 0.0, count * volume / (4 * np.pi)])
    real = [r.real for r in roots if abs(r.imag) < 1e-9 * q_max and 0 < r.real <= q_max]
    return float(min(real)) if real else q_max


# -- explicit list ---------------------------------------------------------------------------
def file_qpoints(path: str | os.PathLike, cell: np.ndarray) -> QPoints:
    """q-points from a text file: three columns qx qy qz in 1/Angstrom; '#' starts a comment,
    commas may separate the columns."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "the q-point file does not exist")
    rows, lines = [], []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        text = line.split("#", 1)[0].replace(",", " ").strip()
        if not text:
            continue
        words = text.split()
        try:
            if len(words) != 3:
                raise ValueError
            rows.append([float(w) for w in words])
        except ValueError:
            raise InputFileError(path, f"expected three numbers qx qy qz, found '{line[:60]}'",
                                 where=f"line {number}",
                                 fix="write one q-point per line, in 1/Angstrom") from None
        if not np.all(np.isfinite(rows[-1])):
            raise InputFileError(path, "the q-point is not finite", where=f"line {number}",
                                 fix="write three finite numbers qx qy qz, in 1/Angstrom")
        lines.append(number)
    if not rows:
        raise InputFileError(path, "the file holds no q-point",
                             fix="write one q-point per line: qx qy qz in 1/Angstrom")
    indices = commensurate_indices(np.array(rows), cell, "q_file", path=path, lines=lines)
    # A q-point listed twice counts twice in its |Q| shell's average (a pasted block): refused,
    # by its lattice point (0.6981 and 0.698132 are one q-point of a 9 Angstrom cell).
    seen: dict[tuple[int, ...], int] = {}
    for row, number in zip(np.asarray(indices).tolist(), lines):
        first = seen.setdefault(tuple(int(n) for n in row), number)
        if first != number:
            raise InputFileError(path, f"the q-point of line {first} is given again",
                                 where=f"line {number}",
                                 fix="give each q-point once (equal ones count twice in their "
                                     "|Q| shell's average)")
    return _from_indices(indices, cell, notes={"q_sampling": "file",
                                               "q_points_used": len(indices)})


# -- Brillouin-zone paths --------------------------------------------------------------------
def repetition_matrix(primitive_cell: np.ndarray, cell: np.ndarray,
                      tolerance: float = 0.05) -> np.ndarray:
    """Integer P with ``P @ primitive ~ cell``. The tolerance allows a primitive cell from a
    relaxation next to a thermally expanded MD cell; the caller uses ``inv(P) @ cell``."""
    p_float = np.linalg.solve(np.asarray(primitive_cell, float).T, np.asarray(cell, float).T).T
    p_int = np.rint(p_float)
    if np.max(np.abs(p_float - p_int)) > tolerance or abs(np.linalg.det(p_int)) < 0.5:
        raise ParameterError(
            "primitive_cell", "the supercell of the trajectory is not an integer repetition of "
            "the primitive cell (repetition matrix " + np.array2string(p_float, precision=3)
            + ")", "give the primitive cell of the simulated crystal, in the same orientation "
            "as the supercell, with --primitive-cell")
    return p_int.astype(np.int64)


def find_primitive_cell(cell: np.ndarray, positions: np.ndarray,
                        species: Sequence[str]) -> tuple[np.ndarray, float]:
    """The primitive cell of a crystal structure, in the supercell's orientation.

    ``positions``: one frame, or better the average of a few (thermal displacements hide the
    translations). spglib is asked with tolerances of 0.1, 0.2 and 0.3 Angstrom; the first that
    finds a primitive cell smaller than the supercell, and an integer repetition of it, wins.
    Returns the cell and the tolerance used.
    """
    import spglib  # only --q-path needs it (0.02-0.03 s of every mdinsim sqw otherwise)

    labels = {s: i + 1 for i, s in enumerate(sorted(set(species)))}
    numbers = [labels[s] for s in species]  # isotopes (H and D) are different species here
    fractional = np.linalg.solve(cell.T, positions.T).T % 1.0
    for symprec in (0.1, 0.2, 0.3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            result = spglib.standardize_cell((cell, fractional, numbers), to_primitive=True,
                                             no_idealize=True, symprec=symprec)
        if result is None or len(result[2]) >= len(numbers):
            continue
        lattice = np.asarray(result[0], dtype=float)
        try:
            repetition_matrix(lattice, cell, tolerance=0.02)
        except ParameterError:
            continue
        return lattice, symprec
    raise ParameterError("primitive_cell", "no primitive cell smaller than the supercell was "
                         "found in the first frames (tolerances up to 0.3 Angstrom)",
                         "give it with --primitive-cell")


def average_structure(frames: Sequence[np.ndarray], cell: np.ndarray) -> np.ndarray:
    """Mean positions of a few frames, atoms followed across the periodic boundaries."""
    inverse = np.linalg.inv(cell)
    first = frames[0] @ inverse
    total = np.zeros_like(first)
    for positions in frames:
        fractional = positions @ inverse
        total += fractional - np.rint(fractional - first)
    return (total / len(frames)) @ cell


def _parse_path(path: str) -> list[list[str]]:
    from ase.dft.kpoints import parse_path_string  # seconds to import; only --q-path needs it

    text = path.replace("Gamma", "G").replace("GAMMA", "G").replace("\u0393", "G")
    text = text.replace("-", "").replace(" ", "")
    return [segment for segment in parse_path_string(text) if segment]


def path_qpoints(cell: np.ndarray, path: str, primitive_cell: np.ndarray, zones: int = 1,
                 q_max_inv_angstrom: float | None = None, seed: int = 42) -> QPoints:
    """Commensurate q-points along ``path`` (e.g. ``"G-X-K-L"``) in ``zones`` Brillouin zones.

    The special points are ASE's for the Bravais lattice of ``primitive_cell`` (in its reduced
    reciprocal coordinates); the points of each straight segment that lie on the reciprocal
    supercell lattice are found exactly (dynasor's ``find_on_line``). The first zone is always
    used; the others are reciprocal lattice vectors G of the primitive cell drawn at random
    (``seed``) among those with |G + q| <= q_max for every q of the path. The q-list holds the
    path of zone 0, then the path of zone 1, and so on.
    """
    from dynasor.qpoints.tools import find_on_line  # dynasor takes seconds to import

    cell = np.asarray(cell, dtype=float)
    repetition = repetition_matrix(primitive_cell, cell)
    primitive = np.linalg.solve(repetition.astype(float), cell)  # inv(P) @ cell
    special = Cell(primitive).bandpath(npoints=0).special_points
    try:
        segments = _parse_path(path)
    except Exception:
        segments = []
    names = [name for segment in segments for name in segment]
    unknown = [name for name in names if name not in special]
    if not segments or unknown or any(len(s) < 2 for s in segments):
        raise ParameterError("q_path", f"'{path}' is not a path of this lattice's special "
                             "points" + (f" (unknown: {', '.join(unknown)})" if unknown else ""),
                             "use two or more of " + ", ".join(sorted(special))
                             + " separated by '-' (a comma starts a new segment)")
    reciprocal_primitive = reciprocal_cell(primitive)
    reduced_points: list[np.ndarray] = []
    distances: list[float] = []
    labels: list[str] = []
    travelled = 0.0
    for segment in segments:
        for start_name, stop_name in zip(segment[:-1], segment[1:]):
            start = np.asarray(special[start_name], dtype=float)
            stop = np.asarray(special[stop_name], dtype=float)
            fractions = [float(f) for f in find_on_line(start, stop, repetition.T)]
            length = float(np.linalg.norm((stop - start) @ reciprocal_primitive))
            for fraction in fractions:
                point = start + fraction * (stop - start)
                if reduced_points and np.allclose(point, reduced_points[-1]):
                    continue  # the joint of two segments
                reduced_points.append(point)
                distances.append(travelled + fraction * length)
                labels.append(start_name if fraction == 0.0 else
                              stop_name if fraction == 1.0 else "")
            travelled += length
    if not reduced_points:
        raise ParameterError("q_path", f"no q-point on '{path}' is commensurate with the "
                             "supercell", "use a larger supercell or other special points")
    path_cartesian = np.array(reduced_points) @ reciprocal_primitive
    zone_vectors, zone_notes = _choose_zones(reciprocal_primitive, path_cartesian, zones,
                                             q_max_inv_angstrom, seed)
    q_all = (zone_vectors[:, None, :] + path_cartesian[None, :, :]).reshape(-1, 3)
    indices = commensurate_indices(q_all, cell, "q_path")
    n_path = len(path_cartesian)
    zone_hkl = np.rint(zone_vectors @ primitive.T / (2 * np.pi)).astype(int)
    columns = {
        "zone": np.repeat(np.arange(len(zone_vectors)), n_path),
        "zone_h": np.repeat(zone_hkl[:, 0], n_path),
        "zone_k": np.repeat(zone_hkl[:, 1], n_path),
        "zone_l": np.repeat(zone_hkl[:, 2], n_path),
        "path_distance": np.tile(np.array(distances), len(zone_vectors)),
        "label": labels * len(zone_vectors),
    }
    notes = {"q_sampling": "path", "q_path_points": n_path, "q_points_used": len(indices),
             "primitive_cell": primitive.reshape(-1), **zone_notes}
    return _from_indices(indices, cell, columns=columns, notes=notes)


def _choose_zones(reciprocal_primitive: np.ndarray, path_cartesian: np.ndarray, zones: int,
                  q_max: float | None, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
    if zones == 1:
        return np.zeros((1, 3)), {"zones_used": 1}
    if q_max is None:
        raise ParameterError("zones", f"{zones} zones need a |q| limit",
                             "give --q-max (1/Angstrom) to choose zones below it")
    extent = float(np.max(np.linalg.norm(path_cartesian, axis=1)))
    heights = 1.0 / np.linalg.norm(np.linalg.inv(reciprocal_primitive.T), axis=1)
    limits = np.ceil((q_max + extent) / heights).astype(int)
    grid = np.stack(np.meshgrid(*[np.arange(-m, m + 1) for m in limits], indexing="ij"),
                    axis=-1).reshape(-1, 3)
    vectors = grid @ reciprocal_primitive
    reach = np.max(np.linalg.norm(vectors[:, None, :] + path_cartesian[None, :, :], axis=2),
                   axis=1)
    fits = reach <= q_max * (1 + 1e-12)
    is_origin = np.all(grid == 0, axis=1)
    if not fits[is_origin].all():
        raise ParameterError("q_max_inv_angstrom", f"the path reaches |q| = {extent:.4g} "
                             f"1/Angstrom, beyond --q-max {q_max:g}",
                             "raise --q-max so that at least the first zone fits")
    candidates = np.nonzero(fits & ~is_origin)[0]
    # A stable order before the random draw, so that the seed alone decides the zones.
    candidates = candidates[np.lexsort((grid[candidates, 2], grid[candidates, 1],
                                        grid[candidates, 0], np.round(reach[candidates], 9)))]
    rng = np.random.default_rng(seed)
    wanted = zones - 1
    if wanted < len(candidates):
        chosen = np.sort(rng.choice(len(candidates), size=wanted, replace=False))
        candidates = candidates[chosen]
    chosen_vectors = np.vstack([np.zeros((1, 3)), vectors[candidates]])
    notes = {"zones_used": len(chosen_vectors), "zones_requested": zones}
    return chosen_vectors, notes
