"""Engines of the S(q,w) correlator: one signature, several kernel sets.

An engine turns blocks of frames into :class:`~..correlation.CorrelationSums`; which one runs is
a per-piece choice (a piece of work: a run, a block of q-points, a segment of frames), made by
:func:`make_correlator` from an :class:`EngineChoice`:

* ``numba`` (:class:`~..correlation.StreamingCorrelator`): serial numba kernels
  (:mod:`..kernels`) in a pool of threads and scipy FFTs, on the CPU;
* ``torch`` (:class:`.torch_engine.TorchCorrelator`): phase factors, the density Fourier
  components, the self terms and the FFT correlations as batched PyTorch tensor operations,
  on a GPU (``cuda``) or on the CPU. On the CPU it is the reference the GPU is tested against:
  it equals the numba engine to 1e-10 relative (tests/sqw/test_engines.py).

``auto`` takes ``torch`` on ``cuda`` where a GPU is visible to PyTorch, else ``numba``. Whether
a GPU is there is asked without importing PyTorch where no NVIDIA driver is loaded (importing it
costs about a second, more than a small S(q,w)).

Precision: ``double`` (fp64, the default) everywhere; ``single`` (torch only) takes the phases
(reduced modulo 1 in fp64 first), the FFTs and the per-batch sums in fp32 and accumulates in
fp64: about 1e-6 relative to the largest value of each spectrum (measured in
tests/sqw/test_engines.py, which allows 1e-4).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import ParameterError
from ..correlation import DEFAULT_MEMORY_BYTES, StreamingCorrelator
from ..parameters import DEVICE_CHOICES, ENGINE_CHOICES, PRECISION_CHOICES


@dataclass(frozen=True)
class EngineChoice:
    """A resolved engine: ``engine`` (numba or torch), ``device`` (cpu or cuda), ``precision``
    (double or single)."""

    engine: str = "numba"
    device: str = "cpu"
    precision: str = "double"

    @property
    def label(self) -> str:
        return f"{self.engine} on {self.device} ({self.precision} precision)"


def _nvidia_driver_loaded() -> bool:
    """An NVIDIA driver is loaded (cheap; says nothing about PyTorch's CUDA build)."""
    return Path("/proc/driver/nvidia/gpus").is_dir() or Path("/dev/nvidia0").exists()


def cuda_available() -> bool:
    """PyTorch is installed, built with CUDA, and sees a GPU."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    if not _nvidia_driver_loaded() or importlib.util.find_spec("torch") is None:
        return False
    import torch  # optional (the torch-engine extra), seconds to import

    return bool(torch.cuda.is_available())


def resolve_engine(engine: str = "auto", device: str = "auto",
                   precision: str = "double") -> EngineChoice:
    """The engine that runs for the ``--engine``, ``--device`` and ``--precision`` asked."""
    if engine not in ENGINE_CHOICES:
        raise ParameterError("engine", f"'{engine}' is not an engine",
                             f"choose one of {', '.join(ENGINE_CHOICES)}")
    if device not in DEVICE_CHOICES:
        raise ParameterError("device", f"'{device}' is not a device",
                             f"choose one of {', '.join(DEVICE_CHOICES)}")
    if engine == "numba" and device == "cuda":
        raise ParameterError("device", "the numba engine runs on the CPU only",
                             "use --engine torch (or auto) for --device cuda")
    if (engine == "torch" or device == "cuda") and importlib.util.find_spec("torch") is None:
        raise ParameterError("engine", "the torch engine needs PyTorch, which is not "
                             "installed", "pip install torch==2.13.0 (or mantid-mdinsim[all]), "
                             "or use --engine numba")
    if device == "cuda" and not cuda_available():
        raise ParameterError("device", "no CUDA GPU is visible to PyTorch",
                             "use --device auto or cpu (or install a CUDA build of PyTorch on "
                             "a machine with a GPU)")
    gpu = device == "cuda" or (device == "auto" and engine != "numba" and cuda_available())
    if engine == "auto":
        engine = "torch" if gpu else "numba"
    device = "cuda" if engine == "torch" and gpu else "cpu"
    if precision not in PRECISION_CHOICES:
        raise ParameterError("precision", f"'{precision}' is not a precision",
                             f"choose one of {', '.join(PRECISION_CHOICES)}")
    if precision == "single" and engine != "torch":
        raise ParameterError("precision", "single precision is an option of the torch engine",
                             "use --engine torch with --precision single, or double precision")
    return EngineChoice(engine, device, precision)


def make_correlator(choice: EngineChoice, species_index: np.ndarray, n_species: int,
                    q_indices: np.ndarray, window: int, incoherent: bool,
                    memory_bytes: int | None = None, workers: int | None = None, plan=None):
    """A streaming correlator of the chosen engine; every engine takes these arguments and
    returns the same :class:`~..correlation.CorrelationSums` (see
    :class:`~..correlation.StreamingCorrelator` for their meaning)."""
    memory_bytes = DEFAULT_MEMORY_BYTES if memory_bytes is None else memory_bytes
    if choice.engine == "torch":
        from .torch_engine import TorchCorrelator  # imports torch: optional, heavy

        return TorchCorrelator(species_index, n_species, q_indices, window, incoherent,
                               memory_bytes=memory_bytes, device=choice.device,
                               precision=choice.precision, plan=plan)
    return StreamingCorrelator(species_index, n_species, q_indices, window, incoherent,
                               memory_bytes=memory_bytes, workers=workers, plan=plan)
