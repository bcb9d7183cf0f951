"""The torch engine (on the CPU here; the same code runs on a GPU) against the numba engine, on
every output: coherent, incoherent, the partials, per q-point and over |Q| shells; and both
against the definition written out as loops (tests/sqw/test_correlation.py's brute force)."""

import numpy as np
import pytest

from mantid_mdinsim.errors import ParameterError
from mantid_mdinsim.sqw import compute_sqw
from mantid_mdinsim.sqw.engines import EngineChoice, make_correlator, resolve_engine

from .harmonic import HarmonicCrystal, write_extxyz
from .test_correlation import blocks_and_one_block, system  # noqa: F401  (the fixture)

pytest.importorskip("torch")

#: The acceptance bound of the torch engine against numba (fp64).
PARITY = 1e-10


def relative(a: np.ndarray, b: np.ndarray) -> float:
    """Largest difference relative to the largest magnitude of the reference."""
    scale = np.nanmax(np.abs(b))
    return float(np.nanmax(np.abs(a - b)) / scale) if scale > 0 else float(np.nanmax(np.abs(a)))


def correlate(choice, fractional, species, q_indices, window, incoherent, memory_bytes):
    correlator = make_correlator(choice, species, 3, q_indices, window, incoherent,
                                 memory_bytes=memory_bytes)
    for frame in fractional:
        correlator.push(frame)
    correlator.finish()
    return correlator.take()


@pytest.mark.parametrize("incoherent", [True, False])
@pytest.mark.parametrize("memory_bytes", [1 << 30, 5000])
def test_torch_sums_equal_the_definition(system, incoherent, memory_bytes):  # noqa: F811
    fractional, _, species, q_indices, window, (coherent, self_part, counts) = system
    sums = correlate(EngineChoice("torch", "cpu"), fractional, species, q_indices, window,
                     incoherent, memory_bytes)
    np.testing.assert_array_equal(sums.counts, counts)
    assert relative(sums.coherent, coherent) < 1e-12
    if incoherent:
        assert relative(sums.incoherent, self_part) < 1e-12


@pytest.mark.parametrize("incoherent", [True, False])
def test_torch_blocks_of_the_default_plan_equal_one_numba_block(incoherent):
    """The torch engine's own block path over several blocks of the default plan and a
    remainder equals the numba engine's single block (tests/sqw/test_correlation.py)."""
    blocks, whole = blocks_and_one_block(incoherent, EngineChoice("torch", "cpu"))
    assert relative(blocks.coherent, whole.coherent) < PARITY
    if incoherent:
        assert relative(blocks.incoherent, whole.incoherent) < PARITY


def test_single_precision_error_is_stated(system):  # noqa: F811
    """The documented fp32 error: about 1e-6 of the largest value (bound 1e-4)."""
    fractional, _, species, q_indices, window, (coherent, self_part, _) = system
    sums = correlate(EngineChoice("torch", "cpu", "single"), fractional, species, q_indices,
                     window, True, 1 << 30)
    assert relative(sums.coherent, coherent) < 1e-4
    assert relative(sums.incoherent, self_part) < 1e-4


@pytest.fixture(scope="module")
def trajectory(tmp_path_factory):
    crystal = HarmonicCrystal(cells=3, temperature_k=300.0, seed=9,
                              species=["Si" if i % 3 else "C" for i in range(27)])
    positions = crystal.positions(np.arange(160) * 10.0)
    return write_extxyz(tmp_path_factory.mktemp("engines") / "dump.xyz", positions,
                        crystal.cell, crystal.species, time_step_fs=10.0)


@pytest.mark.parametrize("per_q", [False, True])
def test_torch_equals_numba_on_every_output(trajectory, per_q):
    settings = dict(trajectories=[str(trajectory)], time_step_fs=10.0, window=30,
                    q_max_inv_angstrom=4.0, q_count=60, per_q=per_q)
    numba = compute_sqw(settings, engine="numba")
    torch = compute_sqw(settings, engine="torch", device="cpu")
    assert set(numba.parts) == set(torch.parts)
    assert {"coherent", "incoherent", "coherent_C_Si", "incoherent_Si"} <= set(numba.parts)
    for name, (values, errors) in numba.parts.items():
        assert relative(torch.parts[name][0], values) < PARITY, name
        assert relative(torch.parts[name][1], errors) < PARITY, name
    for name, (values, errors) in numba.q_average.items():
        assert relative(torch.q_average[name][0], values) < PARITY, name
    assert torch.logs["engine"].startswith("torch on cpu")
    assert numba.logs["engine"].startswith("numba on cpu")


def test_engine_choices_and_their_errors(monkeypatch):
    import mantid_mdinsim.sqw.engines as engines

    monkeypatch.setattr(engines, "cuda_available", lambda: False)
    assert resolve_engine("auto", "auto") == EngineChoice("numba", "cpu")
    assert resolve_engine("torch", "auto") == EngineChoice("torch", "cpu")
    with pytest.raises(ParameterError, match="no CUDA GPU"):
        resolve_engine("auto", "cuda")
    with pytest.raises(ParameterError, match="numba engine runs on the CPU"):
        resolve_engine("numba", "cuda")
    with pytest.raises(ParameterError, match="single precision"):
        resolve_engine("numba", "cpu", "single")
    monkeypatch.setattr(engines, "cuda_available", lambda: True)
    assert resolve_engine("auto", "auto") == EngineChoice("torch", "cuda")
    assert resolve_engine("auto", "cpu") == EngineChoice("numba", "cpu")


def test_torch_cpu_q_batches_bound_their_spectra(system, monkeypatch):  # noqa: F811
    """On the CPU a q-batch's spectra (rho's transform, the power, their tails, the lags'
    inverse FFTs: host memory) stay within CPU_SPECTRA_BYTES, so that peak memory does not
    grow with the FFT length of a full block (all 397 q-points at once: +61 MB from 600 to
    2400 frames, benchmarks/bench_sqw_process.py); with one q-point a batch the sums are still
    the definition's."""
    from mantid_mdinsim.sqw.engines import torch_engine

    rng = np.random.default_rng(3)
    species = rng.integers(0, 2, 1000)
    q_many = rng.integers(-6, 7, (397, 3))
    correlator = make_correlator(EngineChoice("torch", "cpu"), species, 2, q_many, 100, True)
    points = correlator.plan.fft_length + correlator.plan.tail_fft_length
    assert 1 < correlator._q_batch < len(q_many)
    assert (correlator._q_batch * 2 * points * torch_engine.SPECTRA_BYTES_PER_POINT
            <= torch_engine.CPU_SPECTRA_BYTES)
    correlator.close()

    fractional, _, species, q_indices, window, (coherent, self_part, counts) = system
    monkeypatch.setattr(torch_engine, "CPU_SPECTRA_BYTES", 1)
    sums = correlate(EngineChoice("torch", "cpu"), fractional, species, q_indices, window,
                     True, 1 << 30)
    np.testing.assert_array_equal(sums.counts, counts)
    assert relative(sums.coherent, coherent) < 1e-12
    assert relative(sums.incoherent, self_part) < 1e-12
