"""numba kernels of the S(q,w) engine: phase factors exp(i q.r) and spectral sums.

Every q-point is commensurate with the supercell, ``q = n @ B`` with integer ``n`` (see
:mod:`.qpoints`), so with fractional coordinates ``s`` of an atom

    exp(i q.r) = u_0^n_0 * u_1^n_1 * u_2^n_2,    u_d = exp(2 pi i s_d).

Three ``sincos`` per atom and frame give the ``u_d``; tables of their powers ``u_d^m`` for
``0 <= m <= max|n_d|`` follow by complex multiplication (``u^-m`` is the conjugate), and each
q-point then costs two complex multiplications instead of a ``sincos`` (numba has no vectorised
``sincos`` here). The recurrence loses about ``m`` units of the last place, 1e-14 for m ~ 100.
Tables are built for a tile of atoms (or of frames) at once so that the inner loops run over
contiguous memory and vectorise.

The kernels are compiled once and cached on disk (``cache=True``). They are serial and release
the GIL (``nogil``): the engine runs them in a pool of Python threads, each on its own large
piece of work (atoms, frames), whose partial sums are added. Fine-grained numba ``prange``
regions were slower: on a loaded machine their OpenMP barriers spin and stall.
"""

from __future__ import annotations

import numba
import numpy as np

from .. import numba_loading  # noqa: F401  (before the first kernel call: leaner set-up)

#: Floating-point licences of the phase kernels: reassociation lets LLVM vectorise the sums
#: over a tile of atoms (the result changes only by rounding); no assumptions about NaN/inf.
FAST = {"reassoc", "contract", "arcp", "nsz"}
#: Atoms (or frames) per table tile.
TILE = 32
#: Frames per table tile of the single-atom series (tables of 3 x 46 powers x 128 frames, 280
#: kB, stay in the second-level cache; 32 frames were 1.3x and 256 1.7x slower here).
SERIES_TILE = 128
TWO_PI = 2.0 * np.pi


def split_indices(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``|n|``, the sign of each component of ``n`` (as +-1.0) and the table sizes per axis."""
    indices = np.asarray(indices, dtype=np.int64)
    magnitude = np.abs(indices)
    sign = np.where(indices < 0, -1.0, 1.0)
    sizes = magnitude.max(axis=0) + 1 if len(indices) else np.ones(3, dtype=np.int64)
    return magnitude, sign, sizes.astype(np.int64)


@numba.njit(cache=True, inline="always")
def _fill_tables(table_re, table_im, angles_re, angles_im, count, sizes):
    """Powers u^m, m = 0..sizes[d]-1, of u = angles[d, j] for j < count, into table[d, m, j]."""
    for d in range(3):
        for j in range(count):
            table_re[d, 0, j] = 1.0
            table_im[d, 0, j] = 0.0
        for m in range(1, sizes[d]):
            for j in range(count):
                pr = table_re[d, m - 1, j]
                pi = table_im[d, m - 1, j]
                ur = angles_re[d, j]
                ui = angles_im[d, j]
                table_re[d, m, j] = pr * ur - pi * ui
                table_im[d, m, j] = pr * ui + pi * ur


@numba.njit(cache=True, inline="always")
def _tile_tables(coordinates, count, angles_re, angles_im, table_re, table_im, sizes):
    """The power tables (:func:`_fill_tables`) of the ``count`` atoms (or frames) of a tile,
    whose fractional coordinates are the rows of ``coordinates``: u = exp(2 pi i s)."""
    for d in range(3):
        for j in range(count):
            s = coordinates[j, d]
            angle = TWO_PI * (s - np.floor(s))
            angles_re[d, j] = np.cos(angle)
            angles_im[d, j] = np.sin(angle)
    _fill_tables(table_re, table_im, angles_re, angles_im, count, sizes)


@numba.njit(cache=True, inline="always")
def _q_point(magnitude, sign, q):
    """|n| and sign(n) of q-point ``q``, per axis: the table rows and conjugations it needs."""
    return (magnitude[q, 0], magnitude[q, 1], magnitude[q, 2],
            sign[q, 0], sign[q, 1], sign[q, 2])


@numba.njit(cache=True, inline="always")
def _phase(table_re, table_im, m0, m1, m2, s0, s1, s2, j):
    """exp(i q.r) of tile entry ``j`` (real, imaginary): the product of its three axis factors
    u_d^|n_d|, conjugated where n_d < 0."""
    ar = table_re[0, m0, j]
    ai = s0 * table_im[0, m0, j]
    br = table_re[1, m1, j]
    bi = s1 * table_im[1, m1, j]
    cr = table_re[2, m2, j]
    ci = s2 * table_im[2, m2, j]
    abr = ar * br - ai * bi
    abi = ar * bi + ai * br
    return abr * cr - abi * ci, abr * ci + abi * cr


@numba.njit(nogil=True, cache=True, fastmath=FAST)
def density_components(fractional, species_bounds, magnitude, sign, sizes, out, t_offset):
    """rho_a(q, t) = sum over atoms i of species a of exp(i q.r_i(t)).

    fractional : (T, N, 3) fractional coordinates; atoms sorted by species
    species_bounds : (n_species + 1,) first atom of each species, then N
    magnitude, sign : (n_q, 3) |n| and sign(n) of the q-points
    sizes : (3,) table sizes (max |n_d| + 1)
    out : (n_species, n_q, T_out) complex128; frame t goes to out[:, :, t_offset + t]
    """
    n_frames = fractional.shape[0]
    n_species = species_bounds.shape[0] - 1
    n_q = magnitude.shape[0]
    max_size = 1
    for d in range(3):
        max_size = max(max_size, sizes[d])
    for t in range(n_frames):
        table_re = np.empty((3, max_size, TILE))
        table_im = np.empty((3, max_size, TILE))
        angles_re = np.empty((3, TILE))
        angles_im = np.empty((3, TILE))
        sum_re = np.empty(n_q)
        sum_im = np.empty(n_q)
        for species in range(n_species):
            sum_re[:] = 0.0
            sum_im[:] = 0.0
            for first in range(species_bounds[species], species_bounds[species + 1], TILE):
                count = min(TILE, species_bounds[species + 1] - first)
                _tile_tables(fractional[t, first:first + count], count, angles_re, angles_im,
                             table_re, table_im, sizes)
                for q in range(n_q):
                    m0, m1, m2, s0, s1, s2 = _q_point(magnitude, sign, q)
                    acc_re = 0.0
                    acc_im = 0.0
                    for j in range(count):
                        re, im = _phase(table_re, table_im, m0, m1, m2, s0, s1, s2, j)
                        acc_re += re
                        acc_im += im
                    sum_re[q] += acc_re
                    sum_im[q] += acc_im
            for q in range(n_q):
                out[species, q, t_offset + t] = complex(sum_re[q], sum_im[q])


@numba.njit(nogil=True, cache=True, fastmath=FAST)
def atom_phase_series(fractional, atoms, n_valid, magnitude, sign, sizes, out):
    """exp(i q.r_i(t)) for single atoms over time: the input of the incoherent (self) part.

    fractional : (T, N, 3) fractional coordinates
    atoms : (n_atoms,) indices of the atoms to compute
    n_valid : frames t < n_valid are computed; out[..., n_valid:] is set to zero (padding)
    out : (n_atoms, n_q, M) complex128, time last (the axis the FFT runs along)

    The values are stored as (real, imaginary) pairs of float64 through a view of ``out``:
    LLVM vectorises those stores, not those of a complex128 element; with tiles of
    SERIES_TILE frames (longer runs per q-point than TILE) the kernel took 2.4x less time
    (1000 atoms, 93 q-points, 600 frames; the same values, bit for bit).
    """
    n_atoms = atoms.shape[0]
    n_q = magnitude.shape[0]
    length = out.shape[2]
    pairs = out.view(np.float64)          # (n_atoms, n_q, 2 M): re, im, re, im, ...
    max_size = 1
    for d in range(3):
        max_size = max(max_size, sizes[d])
    for i in range(n_atoms):
        atom = atoms[i]
        table_re = np.empty((3, max_size, SERIES_TILE))
        table_im = np.empty((3, max_size, SERIES_TILE))
        angles_re = np.empty((3, SERIES_TILE))
        angles_im = np.empty((3, SERIES_TILE))
        for first in range(0, n_valid, SERIES_TILE):
            count = min(SERIES_TILE, n_valid - first)
            _tile_tables(fractional[first:first + count, atom], count, angles_re, angles_im,
                         table_re, table_im, sizes)
            for q in range(n_q):
                m0, m1, m2, s0, s1, s2 = _q_point(magnitude, sign, q)
                row = pairs[i, q, 2 * first:]
                for j in range(count):
                    re, im = _phase(table_re, table_im, m0, m1, m2, s0, s1, s2, j)
                    row[2 * j] = re
                    row[2 * j + 1] = im
        for q in range(n_q):
            for t in range(n_valid, length):
                out[i, q, t] = 0.0


@numba.njit(nogil=True, cache=True)
def accumulate_spectra(transformed, species_of_atom, density_out, power_out):
    """For Fourier-transformed single-atom series Y_i(q, f):
    density_out[a, q, f] += sum_{i in a} Y_i (the transform of rho_a, by linearity) and
    power_out[a, q, f] += sum_{i in a} |Y_i|^2 (the self part).
    """
    n_atoms, n_q, length = transformed.shape
    for q in range(n_q):
        for i in range(n_atoms):
            species = species_of_atom[i]
            for f in range(length):
                value = transformed[i, q, f]
                density_out[species, q, f] += value
                power_out[species, q, f] += value.real * value.real + value.imag * value.imag


@numba.njit(cache=True)
def sphere_lattice_points(reciprocal, limits, q_max, q_prune, seed):
    """Integer n with 0 < |n @ reciprocal| <= q_max, those beyond q_prune kept with probability
    (q_prune / |q|)^2 (numba's generator, seeded: the same seed gives the same points).

    The innermost index runs only over the chord of the sphere (a quadratic in n_2), so the
    cost is the number of lattice points in the sphere, not in its bounding box.
    """
    np.random.seed(seed)
    capacity = 1024
    out = np.empty((capacity, 3), dtype=np.int64)
    count = 0
    b0 = reciprocal[0]
    b1 = reciprocal[1]
    b2 = reciprocal[2]
    a2 = b2[0] * b2[0] + b2[1] * b2[1] + b2[2] * b2[2]
    q_max2 = q_max * q_max
    tiny = 1e-24 * a2
    for n0 in range(-limits[0], limits[0] + 1):
        for n1 in range(-limits[1], limits[1] + 1):
            ax = n0 * b0[0] + n1 * b1[0]
            ay = n0 * b0[1] + n1 * b1[1]
            az = n0 * b0[2] + n1 * b1[2]
            half_b = ax * b2[0] + ay * b2[1] + az * b2[2]
            c = ax * ax + ay * ay + az * az - q_max2
            disc = half_b * half_b - a2 * c
            if disc < 0:
                continue
            root = np.sqrt(disc)
            low = int(np.ceil((-half_b - root) / a2 - 1e-12))
            high = int(np.floor((-half_b + root) / a2 + 1e-12))
            for n2 in range(low, high + 1):
                qx = ax + n2 * b2[0]
                qy = ay + n2 * b2[1]
                qz = az + n2 * b2[2]
                norm2 = qx * qx + qy * qy + qz * qz
                if norm2 <= tiny or norm2 > q_max2 * (1 + 1e-12):
                    continue
                if norm2 > q_prune * q_prune:
                    if np.random.random() >= q_prune * q_prune / norm2:
                        continue
                if count == capacity:
                    capacity *= 2
                    grown = np.empty((capacity, 3), dtype=np.int64)
                    grown[:count] = out[:count]
                    out = grown
                out[count, 0] = n0
                out[count, 1] = n1
                out[count, 2] = n2
                count += 1
    return out[:count].copy()
