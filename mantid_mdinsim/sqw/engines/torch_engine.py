"""The torch engine: the whole S(q,w) correlation (coherent, self part, partials) as batched
PyTorch operations, on a GPU or on the CPU.

Same estimator, blocks and FFT lengths as :class:`~..correlation.StreamingCorrelator` (whose
frame buffer and bookkeeping it inherits); only the arithmetic moves to the device:

* phase factors ``exp(i q.r) = exp(2 pi i frac(n . s))`` for a batch of frames x atoms x
  q-points at once (the argument ``n . s`` reduced modulo 1 in fp64, so that fp32 phases keep
  seven digits even for |n . s| in the hundreds);
* the coherent part alone: rho_a(q, t) summed over the atoms of each species as frames arrive,
  held on the device; its FFT per block;
* with the self part: FFT along time of every atom's phase series of the block (zero-padded,
  as the numba engine), summed per species (the transform of rho_a, by linearity) and as
  powers |Y|^2 (the self part);
* the lag sums ``Re ifft(...)[:W+1]`` on the device, kept there until :meth:`take`: the host
  copies a block of positions to the device (synchronously, so the buffer may be refilled at
  once) and goes back to reading frames while the device computes; the two meet only when the
  sums are taken.

Batches (atoms x q-points per FFT) are sized from the free device memory (half of what
``torch.cuda.mem_get_info`` reports) on a GPU, from the memory budget on the CPU.
"""

from __future__ import annotations

import numpy as np
import torch

from ..correlation import StreamingCorrelator

#: Bytes of device memory per (atom, q-point, FFT point) of a batch: the fp64 argument, the
#: complex phases, their FFT, the power and temporaries.
BYTES_PER_POINT = 64
#: Share of the free GPU memory that batches may take.
GPU_MEMORY_SHARE = 0.5
#: Work memory of one batch on the CPU (cache-friendly; larger gave no speed on 2 cores).
CPU_BATCH_BYTES = 32 << 20
#: Bytes per (species, q-point, FFT point) of a q-batch's spectra, held while its atoms are
#: summed (rho's transform, the power, their tails) and made while its lags are taken (the
#: inverse FFTs, the species pairs' products).
SPECTRA_BYTES_PER_POINT = 64
#: The spectra of one q-batch on the CPU at most (host memory: all 397 q-points at once made
#: peak memory grow from 600 to 2400 frames by +14.8 %, the FFT length of a full block being
#: longer than that of a short trajectory; with this bound +9.8 %, extended XYZ, coherent +
#: incoherent, medians of 3, benchmarks/bench_sqw_process.py's case).
CPU_SPECTRA_BYTES = 8 << 20


class TorchCorrelator(StreamingCorrelator):
    """:class:`~..correlation.StreamingCorrelator` with its arithmetic in PyTorch.

    Extra parameters: ``device`` (``cpu`` or ``cuda``) and ``precision`` (``double`` or
    ``single``; sums are accumulated in double either way).
    """

    def __init__(self, species_index: np.ndarray, n_species: int, q_indices: np.ndarray,
                 window: int, incoherent: bool, memory_bytes: int = 1 << 30,
                 device: str = "cpu", precision: str = "double", plan=None):
        self.device = torch.device(device)
        self.real_dtype = torch.float64 if precision == "double" else torch.float32
        self.complex_dtype = torch.complex128 if precision == "double" else torch.complex64
        self.precision = precision
        self._n_q_total = len(q_indices)
        super().__init__(species_index, n_species, q_indices, window, incoherent,
                         memory_bytes=memory_bytes, workers=1, plan=plan)
        self._q = torch.as_tensor(np.asarray(q_indices, dtype=np.float64), device=self.device)
        self._atom_batch, self._q_batch = self._batch_sizes(memory_bytes)
        self._device_sums = self._zero_device_sums()

    # -- memory --------------------------------------------------------------------------
    def _allocate_density(self, frames: int):
        return torch.zeros((self.n_species, self._n_q_total, frames), dtype=self.complex_dtype,
                           device=self.device)

    def _batch_sizes(self, memory_bytes: int) -> tuple[int, int]:
        """(atoms, q-points) per batch, from the free device memory."""
        if self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            budget = int(GPU_MEMORY_SHARE * free)
        else:
            budget = min(CPU_BATCH_BYTES, max(memory_bytes // 8, 1 << 20))
        points = self.plan.fft_length + self.plan.tail_fft_length
        elements = max(1, budget // (BYTES_PER_POINT * points))
        q_most = self.n_q
        if self.device.type != "cuda":
            q_most = max(1, CPU_SPECTRA_BYTES // (SPECTRA_BYTES_PER_POINT * self.n_species
                                                  * points))
        # batches of equal size: 397 q-points in batches of 327 left one of 70 that cost a
        # pass over every atom for a sixth of the work
        n_batches = -(-self.n_q // min(self.n_q, elements, q_most))
        q_batch = int(-(-self.n_q // n_batches))
        atom_batch = int(max(1, min(self.n_atoms, elements // q_batch)))
        return atom_batch, q_batch

    def _zero_device_sums(self) -> dict[str, torch.Tensor]:
        lags = self.window + 1
        sums = {"coherent": torch.zeros((len(self.pairs), self.n_q, lags), dtype=torch.float64,
                                        device=self.device)}
        if self.incoherent:
            sums["incoherent"] = torch.zeros((self.n_species, self.n_q, lags),
                                             dtype=torch.float64, device=self.device)
        return sums

    def take(self):
        """The sums since the last take (waits for the device)."""
        self.sums.coherent += self._device_sums["coherent"].cpu().numpy()
        if self.incoherent:
            self.sums.incoherent += self._device_sums["incoherent"].cpu().numpy()
        self._device_sums = self._zero_device_sums()
        return super().take()

    # -- phases ----------------------------------------------------------------------------
    def _phases(self, fractional: torch.Tensor, q_slice: slice) -> torch.Tensor:
        """exp(i q.r) of ``fractional`` (..., 3) for the q-points of ``q_slice``: (..., n_q)."""
        turns = fractional @ self._q[q_slice].T
        turns = (turns - torch.floor(turns)).to(self.real_dtype)
        angle = (2.0 * np.pi) * turns
        return torch.complex(torch.cos(angle), torch.sin(angle))

    def _to_device(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    # -- coherent part alone: rho as frames arrive ------------------------------------------
    def _flush_stage(self) -> None:
        if self._staged == 0:
            return
        stage = self._to_device(self._stage[:self._staged])
        first = self._held
        for q0 in range(0, self.n_q, self._q_batch):
            q_slice = slice(q0, min(q0 + self._q_batch, self.n_q))
            for species in range(self.n_species):
                for lo, hi in self._atom_ranges(species):
                    rho = self._phases(stage[:, lo:hi], q_slice).sum(dim=1)   # (frames, q)
                    self._density[species, q_slice, first:first + self._staged] += rho.T
        self._held += self._staged
        self._staged = 0

    def _atom_ranges(self, species: int):
        lo, hi = int(self.species_bounds[species]), int(self.species_bounds[species + 1])
        for start in range(lo, hi, self._atom_batch):
            yield start, min(start + self._atom_batch, hi)

    # -- one block ---------------------------------------------------------------------------
    def _correlate_block(self, n_valid: int, n_starts: int, length: int,
                         tail_length: int) -> None:
        tail = n_valid - n_starts
        if not self.incoherent:
            held = self._density[:, :, :n_valid]
            density = torch.fft.fft(held, n=length, dim=-1)
            tail_density = (torch.fft.fft(held[:, :, n_starts:], n=tail_length, dim=-1)
                            if tail > 0 else None)
            self._add_coherent(slice(0, self.n_q), density, tail_density, tail)
            return
        positions = self._to_device(self._positions[:n_valid])
        for q0 in range(0, self.n_q, self._q_batch):
            q_slice = slice(q0, min(q0 + self._q_batch, self.n_q))
            n_q = q_slice.stop - q_slice.start
            density = torch.zeros((self.n_species, n_q, length), dtype=torch.complex128,
                                  device=self.device)
            power = torch.zeros((self.n_species, n_q, length), dtype=torch.float64,
                                device=self.device)
            tail_density = torch.zeros((self.n_species, n_q, tail_length),
                                       dtype=torch.complex128, device=self.device)
            tail_power = torch.zeros((self.n_species, n_q, tail_length), dtype=torch.float64,
                                     device=self.device)
            for species in range(self.n_species):
                for lo, hi in self._atom_ranges(species):
                    series = self._phases(positions[:, lo:hi], q_slice)    # (frames, atoms, q)
                    self._accumulate(series, length, density[species], power[species])
                    if tail > 0:
                        self._accumulate(series[n_starts:], tail_length,
                                         tail_density[species], tail_power[species])
            self._device_sums["incoherent"][:, q_slice] += self._lags(power, tail_power, tail)
            self._add_coherent(q_slice, density, tail_density, tail)

    @staticmethod
    def _accumulate(series: torch.Tensor, length: int, density: torch.Tensor,
                    power: torch.Tensor) -> None:
        """FFT along time (zero-padded to ``length``) of the atoms' series, summed over the
        atoms into ``density`` (the transform of rho) and as |Y|^2 into ``power``."""
        transformed = torch.fft.fft(series, n=length, dim=0)           # (length, atoms, q)
        density += transformed.sum(dim=1).T.to(torch.complex128)
        power += (transformed.real.square() + transformed.imag.square()).sum(dim=1).T.to(
            torch.float64)

    def _coherent_sums(self) -> torch.Tensor:
        return self._device_sums["coherent"]

    def _inverse_fft(self, spectrum: torch.Tensor) -> torch.Tensor:
        return torch.fft.ifft(spectrum.to(torch.complex128), dim=-1)

    def _shift(self, n_valid: int, n_starts: int) -> None:
        if self.incoherent:
            super()._shift(n_valid, n_starts)
            return
        # rho of the frames kept moves to the front, zeros after it (rho is summed into);
        # torch refuses the overlapping in-place copy that numpy makes safe
        kept = self._density[:, :, n_starts:n_valid]
        self._density = torch.cat([kept, torch.zeros_like(self._density[:, :, kept.shape[-1]:])],
                                  dim=-1)
        self._held = n_valid - n_starts
