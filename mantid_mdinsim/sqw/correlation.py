"""Streaming time correlation of density Fourier components: the engine of S(q,w).

For a trajectory of ``n`` frames and a window of ``W`` lags, the estimator is dynasor's (with
``window_step=1``): every frame ``s`` starts a window, and for lag ``k``

    C_ab(q, k) = sum_{s + k < n} Re[rho_a(q, s) conj(rho_b(q, s + k))]  (+ the same with a, b
                                                                          swapped if a != b)
    C_a^self(q, k) = sum_{s + k < n} sum_{i in a} Re[exp(i q.r_i(s)) exp(-i q.r_i(s + k))]

with ``count(k) = n - k`` terms, so that ``F(q, k) = C / (count N)`` (N atoms in all).

The sums are computed block by block with FFTs (Wiener-Khinchin with zero padding) instead of a
loop over lags: a block holds the window starts ``s`` in ``[j B, j B + B)`` and the frames up to
``j B + B + W``. For a series ``y`` over the block (length ``L <= B + W``) and its tail ``z`` (the
frames after the last start), the wanted sum over starts is

    sum_{s < B} y(s) conj(y(s + k)) = A_y(k) - A_z(k),

where ``A`` are full autocorrelations, each one FFT (lengths ``>= B + 2W`` and ``>= 2W``) and a
product with the conjugate. Summed over atoms in frequency space, the self part costs one FFT per
atom, q-point and block; the coherent part is the same on rho_a (the sum of the atoms' transforms,
by linearity). Only ``B + W`` frames are held (positions; or rho for the coherent part alone), so
memory does not grow with the length of the trajectory.

The sums of different blocks, trajectory segments and runs add: :class:`CorrelationSums` is the
unit of work that pieces (q-blocks x segments x runs, on any machine) return and merge.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import combinations_with_replacement

import ducc0
import numba
import numpy as np

from ..errors import InputFileError, ParameterError
from ..io.trajectory import TrajectoryReader
from . import kernels
from .parameters import SQW_PARAMETERS

#: Default memory for the frame buffer and the FFT work arrays, in bytes.
DEFAULT_MEMORY_BYTES = 1 << 30
#: Largest frame buffer of a block of the coherent part alone (rho), unless that holds fewer
#: than four windows (see BlockPlan.choose); ``$MDINSIM_SQW_BLOCK_BYTES`` sets it (and the next).
BLOCK_BYTES = 16 << 20
#: The same with the self part (positions, 24 bytes per atom and frame): 872 frames of 1000
#: atoms, 7.7 windows of 100 (see BlockPlan.choose: a block that keeps the memory goal with
#: room to spare).
SELF_BLOCK_BYTES = 20 << 20
#: Target size of one work array of the self part (cache-sized; see _chunk_sizes);
#: ``$MDINSIM_SQW_WORK_BYTES`` sets it.
WORK_ARRAY_BYTES = 1 << 20


def bytes_from_environment(variable: str, default: int) -> int:
    """``$variable`` as a positive whole number of bytes, else ``default``; read when a
    calculation is planned (not at import, where a bad value would be a traceback)."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ParameterError(f"${variable}", f"'{text}' is not a whole number of bytes",
                             f"unset it (default {default}) or give a positive whole number")
    return int(text)


def is_fast_length(n: int) -> bool:
    """Whether ``n``'s prime factors are all 2, 3, 5, 7 or 11: the lengths pocketfft (numpy's
    FFT) transforms fastest."""
    for prime in (2, 3, 5, 7, 11):
        while n % prime == 0:
            n //= prime
    return n == 1


def next_fast_len(target: int) -> int:
    """The smallest n >= ``target`` that :func:`is_fast_length`, as ``scipy.fft.next_fast_len``
    for complex input (tests/sqw/test_correlation.py checks they agree; such lengths lie a few
    per cent apart, so counting up is quick). Here rather than scipy's, whose import (its
    array-API layer) cost a quarter of a CPU second on every ``mdinsim sqw``."""
    n = max(int(target), 1)
    while not is_fast_length(n):
        n += 1
    return n


def species_pairs(n_species: int) -> list[tuple[int, int]]:
    """Pairs (a, b), a <= b, in dynasor's order (species sorted by name)."""
    return list(combinations_with_replacement(range(n_species), 2))


@dataclass
class CorrelationSums:
    """Unnormalised correlation sums of one piece of work; pieces merge with ``+``.

    Attributes
    ----------
    coherent
        ``(n_pairs, n_q, W + 1)``: C_ab(q, k) for the pairs of :func:`species_pairs`.
    incoherent
        ``(n_species, n_q, W + 1)``: C_a^self(q, k), or None when not computed.
    counts
        ``(W + 1,)``: number of (start, start + k) frame pairs per lag k.
    frames
        Frames read (for logs).
    """

    coherent: np.ndarray
    incoherent: np.ndarray | None
    counts: np.ndarray
    frames: int = 0

    @classmethod
    def zeros(cls, n_species: int, n_q: int, window: int,
              incoherent: bool) -> "CorrelationSums":
        n_pairs = len(species_pairs(n_species))
        return cls(np.zeros((n_pairs, n_q, window + 1)),
                   np.zeros((n_species, n_q, window + 1)) if incoherent else None,
                   np.zeros(window + 1, dtype=np.int64))

    def __add__(self, other: "CorrelationSums") -> "CorrelationSums":
        incoherent = None
        if self.incoherent is not None and other.incoherent is not None:
            incoherent = self.incoherent + other.incoherent
        return CorrelationSums(self.coherent + other.coherent, incoherent,
                               self.counts + other.counts, self.frames + other.frames)

    def copy(self) -> "CorrelationSums":
        return CorrelationSums(self.coherent.copy(), None if self.incoherent is None
                               else self.incoherent.copy(), self.counts.copy(), self.frames)

    @property
    def windows(self) -> int:
        """Number of window starts (frames) summed."""
        return int(self.counts[0])

    def intermediate_scattering(self, n_atoms: int) -> tuple[np.ndarray, np.ndarray | None]:
        """F_ab(q, t_k) and F_a^self(q, t_k): the sums divided by count(k) and N (dynasor's
        ``Fqt_coh_A_B`` and ``Fqt_incoh_A``)."""
        if np.any(self.counts == 0):
            raise ValueError("some time lags have no frame pairs: the trajectory is shorter "
                             "than the window")
        scale = 1.0 / (self.counts * float(n_atoms))
        coherent = self.coherent * scale
        incoherent = None if self.incoherent is None else self.incoherent * scale
        return coherent, incoherent


@dataclass(frozen=True)
class BlockPlan:
    """Block length and FFT sizes for a window and system size.

    ``starts`` window starts per block; the block holds ``starts + window`` frames; the FFT of a
    block has ``fft_length >= starts + 2 window`` points, that of its tail
    ``tail_fft_length >= 2 window``.
    """

    window: int
    starts: int
    fft_length: int
    tail_fft_length: int

    @property
    def frames(self) -> int:
        return self.starts + self.window

    @classmethod
    def choose(cls, window: int, n_atoms: int, incoherent: bool, n_species: int = 1,
               n_q: int = 1, memory_bytes: int = DEFAULT_MEMORY_BYTES) -> "BlockPlan":
        """Block length for the work and memory at hand.

        With the self part, a block of ``B`` starts recomputes the phases of its ``W`` overlap
        frames and transforms ``B + 2W`` points and a tail of ``2W`` per atom and q-point, where
        a trajectory of one block (``n`` frames, no tail) transforms ``n + W``: per start
        ``(B + 4W) / B`` against ``(n + W) / n``. With ``B`` = 6 windows (the 16 MB blocks of
        December 2026) a long trajectory cost 1.3-1.5x as much CPU per frame as one of 600
        frames (1000 atoms, 397 q, W 100; numba); about twelve windows bring it within ~10 %
        (benchmarks/bench_sqw_frames.py). For the coherent part alone only rho is held (16
        bytes per species, q-point and frame, twice with its transform) and the FFTs are cheap:
        four windows per block.

        Memory: a block's frames take at most ``SELF_BLOCK_BYTES`` (positions, with the self
        part) or ``BLOCK_BYTES`` (rho), and a quarter of ``memory_bytes``, but never fewer
        than four windows of starts (below that the FFTs' padding costs more than the memory
        saves). Peak memory is that of one full block, the same for every trajectory longer
        than a block. The bound is the memory goal's (4x the frames, at most +10 %): 1000
        atoms, 600 -> 2400 frames, ``mdinsim sqw`` (numba, with its plot), medians of 3 runs,
        3 December 2026: 216 -> 238 MB (+10.0 to +10.3 %) with 24 MB (934 starts), 216 ->
        233 MB (+7.8 to +8.2 %) with 20 MB (772 starts), 215 -> 226 MB (+4.9 to +5.6 %)
        with 16 MB (592 starts); earlier, 32 MB (twelve windows) +11.8 %. Part of the
        growth is the reader's buffers, alive while a full block is correlated (a
        trajectory of one block is correlated after the last frame is read). CPU per start
        of a full block, 772 against 934 starts: within the noise (8.3 and 8.6 ms, one
        thread, ``bench_sqw_frames.py --blocks 772,934``; by the FFT points +5 %).
        """
        target = max((12 if incoherent else 4) * window, 64)
        bytes_per_frame = 24 * n_atoms if incoherent else 32 * n_species * n_q
        block_bytes = bytes_from_environment("MDINSIM_SQW_BLOCK_BYTES",
                                             SELF_BLOCK_BYTES if incoherent else BLOCK_BYTES)
        budget = min(memory_bytes // 4, block_bytes)
        affordable = budget // max(1, bytes_per_frame) - window
        floor = min(target, 4 * window) if budget == block_bytes else max(1, window // 4)
        if affordable >= target:
            fft_length = next_fast_len(target + 2 * window)
        else:
            # the longest fast FFT whose block fits: rounding up would overshoot the budget
            fft_length = max(affordable, floor) + 2 * window
            while not is_fast_length(fft_length):
                fft_length -= 1
            fft_length = max(fft_length, next_fast_len(floor + 2 * window))
        starts = fft_length - 2 * window
        return cls(window, starts, fft_length, next_fast_len(2 * window))


class StreamingCorrelator:
    """Accumulates :class:`CorrelationSums` over frames pushed one at a time.

    Parameters
    ----------
    species_index
        Species number (0-based, species sorted by name) of each atom, in file order.
    n_species
        Number of species.
    q_indices
        ``(n_q, 3)`` integer coordinates of the q-points on the reciprocal supercell lattice.
    window
        W, the longest lag in frames.
    incoherent
        Also compute the self part.
    memory_bytes
        Budget for the frame buffer and work arrays.
    workers
        Threads: each takes whole pieces (a share of the atoms, of the frames, or of an FFT's
        rows) and runs the serial kernels and FFTs on them; default: numba's thread count (``NUMBA_NUM_THREADS``,
        else the number of cores).
    plan
        The block plan (default: :meth:`BlockPlan.choose` for these sizes); pieces of one
        calculation that hold fewer q-points pass the whole calculation's, so that their
        blocks are its blocks.
    """

    def __init__(self, species_index: np.ndarray, n_species: int, q_indices: np.ndarray,
                 window: int, incoherent: bool, memory_bytes: int = DEFAULT_MEMORY_BYTES,
                 workers: int | None = None, plan: "BlockPlan | None" = None):
        fix_allocator_threshold()
        species_index = np.asarray(species_index, dtype=np.int64)
        self.n_atoms = len(species_index)
        self.n_species = n_species
        self.window = window
        self.incoherent = incoherent
        self.workers = workers or numba_threads()
        self.order = np.argsort(species_index, kind="stable")
        self._atom_numbers = np.arange(self.n_atoms, dtype=np.int64)
        self.sorted_species = species_index[self.order]
        self.species_bounds = np.searchsorted(self.sorted_species,
                                              np.arange(n_species + 1)).astype(np.int64)
        self.magnitude, self.sign, self.sizes = kernels.split_indices(q_indices)
        self.n_q = len(q_indices)
        # The self part takes q-points in chunks in this order, by their largest |n_d|: the
        # phase kernel's power tables go up to a chunk's largest |n_d|, and in chunks of
        # similar q-points they cost 0.62 of the whole set's (397 spherical q-points in four
        # chunks; the tables were ~40 % of the phase series). Each q-point's sums are the
        # same bit for bit in any chunk (fft_in_place; a table row does not depend on the
        # table's length).
        self._q_order = np.argsort(self.magnitude.max(axis=1, initial=0), kind="stable")
        self.plan = plan or BlockPlan.choose(window, self.n_atoms, incoherent, n_species,
                                             len(q_indices), memory_bytes)
        self.pairs = species_pairs(n_species)
        self._memory = memory_bytes
        # read here, with the block plan: a bad value is refused before any frame is read
        self._work_array_bytes = bytes_from_environment("MDINSIM_SQW_WORK_BYTES",
                                                        WORK_ARRAY_BYTES)
        self.sums = CorrelationSums.zeros(n_species, self.n_q, window, incoherent)
        self.blocks_done = 0
        frames = self.plan.frames
        if incoherent:
            self._positions = np.empty((frames, self.n_atoms, 3))
            self._buffers: dict[tuple[int, str], np.ndarray] = {}
        else:
            # Only rho is held; positions wait in a small stage until a tile of frames is full.
            self._stage = np.empty((kernels.TILE, self.n_atoms, 3))
            self._staged = 0
            self._density = self._allocate_density(frames)
        self._held = 0   # frames in the block buffer
        self._pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None

    def _allocate_density(self, frames: int):
        """The buffer of rho_a(q, t) for the coherent part alone: (n_species, n_q, frames)."""
        return np.zeros((self.n_species, self.n_q, frames), dtype=complex)

    def close(self) -> None:
        """Stop the worker threads (also done when the object is collected)."""
        if getattr(self, "_pool", None) is not None:   # None where __init__ failed
            self._pool.shutdown(wait=False)
            self._pool = None

    def __del__(self) -> None:
        self.close()

    def _map(self, function, items: list) -> list:
        """``function`` over ``items`` on the worker threads (in order)."""
        if self._pool is None or len(items) < 2:
            return [function(item) for item in items]
        return list(self._pool.map(function, items))

    # -- feeding ------------------------------------------------------------------------------
    def push(self, fractional: np.ndarray) -> None:
        """Add the next frame (fractional coordinates, ``(n_atoms, 3)``, file order)."""
        self.sums.frames += 1
        if self.incoherent:
            self._positions[self._held] = fractional[self.order]
            self._held += 1
        else:
            self._stage[self._staged] = fractional[self.order]
            self._staged += 1
            if self._staged == len(self._stage) or self._held + self._staged == self.plan.frames:
                self._flush_stage()
        if self._held == self.plan.frames:
            self._process(self._held, self.plan.starts)

    def finish(self) -> None:
        """Process the frames still held (the end of the trajectory)."""
        if not self.incoherent:
            self._flush_stage()
        # Every frame still held is a start: one block, no tail. Its FFT is no longer than a
        # full block's (held <= plan.frames), and splitting it at plan.starts would cost a
        # tail and a second block of a few frames (16 % more work for 600 frames of 1000
        # atoms, whose 872-frame block the end of the file cuts at 600).
        if self._held > 0:
            self._process(self._held, self._held)

    def take(self) -> CorrelationSums:
        """The sums accumulated since the last take (frames still held are not included)."""
        sums = self.sums
        self.sums = CorrelationSums.zeros(self.n_species, self.n_q, self.window,
                                          self.incoherent)
        return sums

    @property
    def held_frames(self) -> int:
        """Frames read but not yet used as window starts (the next start is the frame read
        this many frames ago)."""
        return self._held + (0 if self.incoherent else self._staged)

    def _flush_stage(self) -> None:
        if self._staged == 0:
            return
        # each thread writes its own frames of rho: no shared sums
        bounds = np.linspace(0, self._staged, min(self.workers, self._staged) + 1).astype(int)

        def frames(part: int) -> None:
            first, last = bounds[part], bounds[part + 1]
            kernels.density_components(self._stage[first:last], self.species_bounds,
                                       self.magnitude, self.sign, self.sizes, self._density,
                                       self._held + first)

        self._map(frames, list(range(len(bounds) - 1)))
        self._held += self._staged
        self._staged = 0

    # -- one block ----------------------------------------------------------------------------
    def _process(self, n_valid: int, n_starts: int) -> None:
        window = self.window
        tail = n_valid - n_starts
        lags = np.arange(window + 1)
        self.sums.counts += np.clip(np.minimum(n_starts, n_valid - lags), 0, None)
        # Aliasing-free autocorrelations up to lag W of series of n and t frames need FFTs of
        # at least n + W and t + W points: the plan's lengths for a full block, shorter ones
        # for the last block of a trajectory.
        length = next_fast_len(n_valid + window)
        tail_length = next_fast_len(max(tail, 1) + window)
        self._correlate_block(n_valid, n_starts, length, tail_length)
        self._shift(n_valid, n_starts)
        self.blocks_done += 1

    def _correlate_block(self, n_valid: int, n_starts: int, length: int,
                         tail_length: int) -> None:
        """Add the lag sums of the block's ``n_starts`` window starts (of ``n_valid`` frames
        held) to ``self.sums``, with FFTs of ``length`` (block) and ``tail_length`` (tail)
        points. The engines differ here (and in how rho is computed: :meth:`_flush_stage`)."""
        tail = n_valid - n_starts
        if self.incoherent:
            q_chunk, atom_chunk = self._chunk_sizes(length, tail_length if tail > 0 else 0)
            atom_starts = list(range(0, self.n_atoms, atom_chunk))
            for q0 in range(0, self.n_q, q_chunk):
                q_chunk_points = self._q_order[q0:q0 + q_chunk]
                shares = [atom_starts[k::self.workers] for k in range(self.workers)]
                results = self._map(
                    lambda k: self._self_part(k, shares[k], atom_chunk, q_chunk_points,
                                              n_valid, n_starts, length, tail_length),
                    [k for k in range(self.workers) if shares[k]])
                # the shares' sums added into the first share's work arrays (refilled at the
                # next chunk): no new arrays of the block's length
                density, power, tail_density, tail_power = results[0]
                for other in results[1:]:
                    for total, part in zip(results[0], other):
                        total += part
                self.sums.incoherent[:, q_chunk_points] += self._lags(power, tail_power, tail)
                self._add_coherent(q_chunk_points, density, tail_density, tail)
        else:
            held = self._density[:, :, :n_valid]
            density = self._fft(held, length)
            tail_density = (self._fft(self._density[:, :, n_starts:n_valid], tail_length)
                            if tail > 0 else None)
            self._add_coherent(slice(0, self.n_q), density, tail_density, tail)

    def _self_part(self, share: int, atom_starts: list[int], atom_chunk: int,
                   q_points: np.ndarray, n_valid: int, n_starts: int, length: int,
                   tail_length: int):
        """One thread's share of a block: the transforms of its atoms' phase series, summed
        per species (rho_a by linearity) and as powers (the self part), for the block and its
        tail. The work arrays are kept between blocks (one set per share) and transformed in
        place: an allocation per atom chunk cost a memory map and its page faults each time
        (a third of the self part's time)."""
        n_q = len(q_points)
        tail = n_valid - n_starts
        density = self._scratch(share, "density", (self.n_species, n_q, length), complex)
        power = self._scratch(share, "power", (self.n_species, n_q, length), float)
        tail_density = self._scratch(share, "tail_density",
                                     (self.n_species, n_q, tail_length), complex)
        tail_power = self._scratch(share, "tail_power", (self.n_species, n_q, tail_length),
                                   float)
        for array in (density, power, tail_density, tail_power):
            array.fill(0.0)
        # the work arrays of a whole chunk, taken once: per atom chunk (often one atom) the
        # Python around the kernels is most of what is not arithmetic
        series_full = self._scratch(share, "series", (atom_chunk, n_q, length), complex)
        tail_full = (self._scratch(share, "tail_series", (atom_chunk, n_q, tail_length), complex)
                     if tail > 0 else None)
        magnitude, sign = self.magnitude[q_points], self.sign[q_points]
        sizes = magnitude.max(axis=0) + 1         # this chunk's tables (see _q_order)
        for a0 in atom_starts:
            a1 = min(a0 + atom_chunk, self.n_atoms)
            atoms = self._atom_numbers[a0:a1]
            series = series_full[:a1 - a0]
            kernels.atom_phase_series(self._positions, atoms, n_valid, magnitude, sign,
                                      sizes, series)
            species = self.sorted_species[a0:a1]
            if tail_full is not None:
                tail_series = tail_full[:a1 - a0]
                tail_series[:, :, :tail] = series[:, :, n_starts:n_valid]
                tail_series[:, :, tail:] = 0.0
                fft_in_place(tail_series)
                kernels.accumulate_spectra(tail_series, species, tail_density, tail_power)
            fft_in_place(series)
            kernels.accumulate_spectra(series, species, density, power)
        return density, power, tail_density, tail_power

    def _scratch(self, share: int, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        """A C-contiguous work array of ``shape``, in a buffer kept for ``share`` (one thread
        at a time) and ``name``; the buffer grows where a block needs more."""
        size = math.prod(shape)    # numpy's prod cost 30 us a call here
        key = (share, name)
        buffer = self._buffers.get(key)
        if buffer is None or buffer.size < size:
            buffer = self._buffers[key] = np.empty(size, dtype=dtype)
        return buffer[:size].reshape(shape)

    def _coherent_sums(self):
        """Where the coherent lag sums accumulate (the torch engine keeps them on its device)."""
        return self.sums.coherent

    def _add_coherent(self, q_slice, density, tail_density, tail: int) -> None:
        """Lag sums of the species pairs from the transforms of rho_a (numpy arrays, or torch
        tensors for the torch engine: the same methods), for the q-points ``q_slice`` (a
        slice, or an array of distinct indices)."""
        target = self._coherent_sums()
        for index, (a, b) in enumerate(self.pairs):
            cross = (density[a].conj() * density[b]).real
            tail_cross = None
            if tail > 0:
                tail_cross = (tail_density[a].conj() * tail_density[b]).real
            if a != b:
                # Re[c_ab + c_ba] = Re ifft(conj(R_a) R_b + conj(R_b) R_a)
                cross = 2.0 * cross
                if tail_cross is not None:
                    tail_cross = 2.0 * tail_cross
            target[index, q_slice] += self._lags(cross, tail_cross, tail)

    def _lags(self, spectrum: np.ndarray, tail_spectrum: np.ndarray | None,
              tail: int) -> np.ndarray:
        """Re ifft(spectrum)[..., :W+1] minus the same of the tail: sum over the block's
        starts of y(s) conj(y(s + k)), real part."""
        lags = self.window + 1
        result = self._inverse_fft(spectrum)[..., :lags].real
        if tail > 0 and tail_spectrum is not None:
            result = result - self._inverse_fft(tail_spectrum)[..., :lags].real
        return result

    def _inverse_fft(self, spectrum):
        """Inverse FFT along the last axis (ducc0 here; the torch engine's on its device)."""
        return self._fft(spectrum, spectrum.shape[-1], inverse=True)

    def _fft(self, array: np.ndarray, length: int, inverse: bool = False) -> np.ndarray:
        """FFT (or inverse FFT) of ``length`` points along the last axis, zero-padded, its rows
        shared among the worker threads (:func:`fft_in_place` releases the GIL)."""
        rows = array.reshape(-1, array.shape[-1])
        out = np.empty((rows.shape[0], length), dtype=complex)
        kept = min(length, rows.shape[1])
        bounds = np.linspace(0, len(rows), min(self.workers, max(len(rows), 1)) + 1).astype(int)

        def part(index: int) -> None:
            first, last = bounds[index], bounds[index + 1]
            out[first:last, :kept] = rows[first:last, :kept]
            out[first:last, kept:] = 0.0
            fft_in_place(out[first:last], inverse)

        self._map(part, list(range(len(bounds) - 1)))
        return out.reshape(array.shape[:-1] + (length,))

    def _shift(self, n_valid: int, n_starts: int) -> None:
        keep = n_valid - n_starts
        if self.incoherent:
            self._positions[:keep] = self._positions[n_starts:n_valid]
        else:
            self._density[:, :, :keep] = self._density[:, :, n_starts:n_valid]
        self._held = keep

    def _chunk_sizes(self, length: int, tail_length: int) -> tuple[int, int]:
        """(q-points, atoms) per work array of the self part, for FFTs of ``length`` (block)
        and ``tail_length`` points (0: no tail).

        The phase series are written, transformed and summed in turn: a chunk small enough to
        stay in the processor's cache (``WORK_ARRAY_BYTES``) saves three trips to memory per
        value, which otherwise cost more than the arithmetic. At least 64 q-points at once,
        so that the power tables of an atom are not rebuilt for a few q-points each.
        """
        bytes_per_series = 16 * (length + tail_length)
        budget = self._work_array_bytes
        q_chunk = int(min(self.n_q, max(64, budget // bytes_per_series)))
        # chunks of equal size: 397 q-points in chunks of 66 left one of a single q-point,
        # which cost a pass over every atom (Python, tables) for 1/400 of the work
        n_chunks = max(1, self.n_q // q_chunk)
        q_chunk = -(-self.n_q // n_chunks)
        # whole SIMD groups of FFT rows: only the last chunk has rows left over, transformed
        # with padding (fft_in_place): 397 q-points in chunks of 112, 112, 112, 61
        q_chunk = min(self.n_q, -(-q_chunk // FFT_ROW_GROUP) * FFT_ROW_GROUP)
        atom_chunk = budget // (q_chunk * bytes_per_series)
        atom_chunk = int(max(1, min(self.n_atoms, atom_chunk)))
        return q_chunk, atom_chunk


#: Rows that ducc0 transforms together with SIMD vectors (8 doubles with AVX-512, 4 with AVX2,
#: 2 with SSE2: 16 holds any of these a whole number of times).
FFT_ROW_GROUP = 16


def fft_in_place(array: np.ndarray, inverse: bool = False) -> np.ndarray:
    """The discrete Fourier transform of ``array`` (C-contiguous) along its last axis, in place
    (the inverse, divided by the length, as ``numpy.fft.ifft``, where ``inverse``); every FFT
    of the numba engine goes through here.

    ducc0 (the successor of pocketfft, numpy's and scipy's FFT, by the same author) took
    1.4-1.8x less CPU time than numpy's FFT per 700-point transform of a batch here, and the
    forward transforms of the single-atom series are the largest cost of the self part (1000
    atoms, 397 q, 600 frames: 403,200 of them; ``python benchmarks/bench_sqw_kernels.py``).
    It releases the GIL; one thread per call, as the engine runs its own worker threads.

    ducc0 transforms rows in SIMD groups and the rows left over one by one, which rounds
    differently (1e-16): a row's result would depend on where it falls in a batch, and so on
    the number of threads or pieces a calculation is split into. The rows left over are
    therefore transformed in a group padded with zeros: every row takes the same path, and
    results are the same bit for bit however the rows are split (tests/sqw/test_correlation.py).
    """
    if array.size == 0:
        return array      # ducc0 refuses empty arrays
    if not array.flags.c_contiguous:
        raise ValueError("fft_in_place needs a C-contiguous array (its rows are viewed)")
    length = array.shape[-1]
    rows = array.reshape(-1, length)          # a view: the array is C-contiguous
    whole = len(rows) - len(rows) % FFT_ROW_GROUP
    options = dict(axes=(1,), forward=not inverse, inorm=2 if inverse else 0, nthreads=1)
    if whole:
        ducc0.fft.c2c(rows[:whole], out=rows[:whole], **options)
    if whole < len(rows):
        group = np.zeros((FFT_ROW_GROUP, length), dtype=complex)
        group[:len(rows) - whole] = rows[whole:]
        ducc0.fft.c2c(group, out=group, **options)
        rows[whole:] = group[:len(rows) - whole]
    return array


#: Allocations above this size get their own memory map (glibc), returned to the system when
#: freed (see :func:`fix_allocator_threshold`).
MMAP_THRESHOLD_BYTES = 1 << 20


def fix_allocator_threshold() -> None:
    """Fix glibc's mmap threshold, so that peak memory does not grow with trajectory length.

    Every block allocates and frees large work arrays. glibc raises its mmap threshold each time
    such an array is freed, after which they come from the heap, whose fragmentation grew the
    peak by 16 % for 4x the frames (500 atoms, window 50: 271 -> 314 MB); with the threshold
    fixed at 1 MB, 220 -> 228 MB (benchmarks/bench_sqw_process.py --memory). Other C libraries
    (musl, macOS) have no such setting and are left alone.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return
    m_mmap_threshold = -3    # from glibc's malloc.h
    mallopt(ctypes.c_int(m_mmap_threshold), ctypes.c_int(MMAP_THRESHOLD_BYTES))


def numba_threads() -> int:
    """NUMBA_NUM_THREADS where set, else the cores this process may use."""
    return max(1, int(numba.config.NUMBA_NUM_THREADS))


#: The smallest correlation window (the parameter's minimum).
WINDOW_MINIMUM = int(SQW_PARAMETERS["window"].minimum)


def too_short_error(reader: TrajectoryReader, frames: int, window: int,
                    estimated: bool = False) -> InputFileError:
    """The error for a trajectory of ``frames`` frames (``estimated``: about so many, as the
    file holds now), too short for ``window`` time lags."""
    minimum = WINDOW_MINIMUM + 1
    if frames < minimum:
        # No window fits: advising a smaller --window (as before) cannot help.
        fix = (f"S(q,w) needs at least {minimum} frames; write frames more often (mdinsim md "
               "--dump-interval-fs) or run the MD longer (--production-time-ps); a single "
               "structure has no dynamics")
    else:
        fix = f"use --window {frames - 1} or less, or a longer trajectory"
    return InputFileError(reader.path, f"has {'about ' if estimated else ''}{frames} "
                          f"frame{'s' if frames != 1 else ''}, fewer than the window + 1 = "
                          f"{window + 1} frames needed for {window} time lags",
                          where=None if estimated else f"frame {frames}", fix=fix)
