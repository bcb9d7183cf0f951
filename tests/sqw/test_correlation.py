"""The streaming FFT correlator against the definition written out as loops over lags."""

import numpy as np
import pytest

from mantid_mdinsim.sqw.correlation import (BlockPlan, CorrelationSums, StreamingCorrelator,
                                            next_fast_len, species_pairs)


def brute_force(fractional, cell, species, q_indices, window):
    """C_ab(q, k) and C_a^self(q, k) from exp(i q.r) and explicit sums over starts and lags."""
    q = q_indices @ (2 * np.pi * np.linalg.inv(cell).T)
    positions = fractional @ cell
    phase = np.exp(1j * np.einsum("qd,tnd->tqn", q, positions))          # (T, q, N)
    n_species = species.max() + 1
    rho = np.stack([phase[:, :, species == a].sum(-1) for a in range(n_species)])
    pairs = species_pairs(n_species)
    n_frames = len(fractional)
    coherent = np.zeros((len(pairs), len(q), window + 1))
    incoherent = np.zeros((n_species, len(q), window + 1))
    counts = np.zeros(window + 1)
    for k in range(window + 1):
        for s in range(n_frames - k):
            counts[k] += 1
            for p, (a, b) in enumerate(pairs):
                value = (rho[a, s] * np.conj(rho[b, s + k])).real
                if a != b:
                    value += (rho[b, s] * np.conj(rho[a, s + k])).real
                coherent[p, :, k] += value
            self_terms = (phase[s] * np.conj(phase[s + k])).real
            for a in range(n_species):
                incoherent[a, :, k] += self_terms[:, species == a].sum(-1)
    return coherent, incoherent, counts


@pytest.fixture(scope="module")
def system():
    rng = np.random.default_rng(3)
    n_atoms, n_frames, window = 11, 75, 7
    species = rng.integers(0, 3, n_atoms)
    cell = np.diag([5.0, 6.0, 7.0]) + 0.4 * rng.random((3, 3))
    # diffusing atoms that leave the cell: wrapped and unwrapped coordinates must agree
    fractional = rng.random((1, n_atoms, 3)) + rng.normal(0, 0.05, (n_frames, n_atoms, 3)).cumsum(0)
    q_indices = rng.integers(-4, 5, (9, 3))
    return fractional, cell, species, q_indices, window, brute_force(fractional, cell, species,
                                                                     q_indices, window)


def run(fractional, species, q_indices, window, incoherent, memory_bytes=1 << 30,
        wrap=False):
    correlator = StreamingCorrelator(species, 3, q_indices, window, incoherent,
                                     memory_bytes=memory_bytes)
    for frame in fractional:
        correlator.push(frame % 1.0 if wrap else frame)
    correlator.finish()
    return correlator.take(), correlator


@pytest.mark.parametrize("incoherent", [True, False])
@pytest.mark.parametrize("memory_bytes", [1 << 30, 5000])
def test_streaming_sums_equal_the_definition(system, incoherent, memory_bytes):
    fractional, cell, species, q_indices, window, (coherent, self_part, counts) = system
    sums, correlator = run(fractional, species, q_indices, window, incoherent, memory_bytes,
                           wrap=True)
    if memory_bytes == 5000 and incoherent:
        assert correlator.plan.starts < len(fractional) // 4   # several blocks were used
    np.testing.assert_array_equal(sums.counts, counts)
    scale = np.abs(coherent).max()
    np.testing.assert_allclose(sums.coherent, coherent, rtol=0, atol=1e-12 * scale)
    if incoherent:
        np.testing.assert_allclose(sums.incoherent, self_part, rtol=0,
                                   atol=1e-12 * np.abs(self_part).max())
    assert sums.frames == len(fractional)


def test_pieces_merge_by_addition(system):
    """q-blocks are independent pieces; runs add. Both give the sums of the whole."""
    fractional, cell, species, q_indices, window, (coherent, self_part, counts) = system
    parts = [run(fractional, species, q_indices[sl], window, True)[0]
             for sl in (slice(0, 4), slice(4, None))]
    np.testing.assert_allclose(np.concatenate([p.coherent for p in parts], axis=1), coherent,
                               atol=1e-12 * np.abs(coherent).max())
    first, _ = run(fractional[:40], species, q_indices, window, True)
    second, _ = run(fractional[40:], species, q_indices, window, True)
    merged = first + second
    expected_first = brute_force(fractional[:40], cell, species, q_indices, window)
    expected_second = brute_force(fractional[40:], cell, species, q_indices, window)
    np.testing.assert_allclose(merged.coherent, expected_first[0] + expected_second[0],
                               atol=1e-12 * np.abs(coherent).max())
    np.testing.assert_array_equal(merged.counts, expected_first[2] + expected_second[2])


def test_intermediate_scattering_is_normalised_per_atom_and_lag(system):
    fractional, cell, species, q_indices, window, (coherent, _, counts) = system
    sums, _ = run(fractional, species, q_indices, window, False)
    f_coherent, _ = sums.intermediate_scattering(len(species))
    np.testing.assert_allclose(f_coherent, coherent / counts / len(species),
                               atol=1e-12 * np.abs(coherent).max())
    # F(q, 0) summed over the pairs is |rho(q)|^2 / N averaged over frames
    empty = CorrelationSums.zeros(3, len(q_indices), window, False)
    with pytest.raises(ValueError, match="shorter than the window"):
        empty.intermediate_scattering(len(species))


def test_block_plan_keeps_the_fft_lengths_sufficient():
    for window in (2, 7, 100, 333):
        for n_atoms in (10, 10 ** 6):
            plan = BlockPlan.choose(window, n_atoms, True, memory_bytes=1 << 28)
            assert plan.fft_length >= plan.starts + 2 * window
            assert plan.tail_fft_length >= 2 * window
            assert plan.starts >= 1


def test_next_fast_len_is_scipys():
    """The FFT lengths (and so the block plans) are scipy.fft's for complex input."""
    import scipy.fft

    from mantid_mdinsim.sqw.correlation import next_fast_len

    for target in range(1, 5001):
        assert next_fast_len(target) == scipy.fft.next_fast_len(target)


def test_block_plan_bounded_in_bytes():
    """A block's frames fit SELF_BLOCK_BYTES (positions, with the self part) unless that is
    fewer than four windows of starts, so that peak memory is the same for every trajectory
    longer than one block."""
    from mantid_mdinsim.sqw.correlation import SELF_BLOCK_BYTES, next_fast_len

    window = 100
    for n_atoms in (64, 500, 1000, 5000, 20000):
        plan = BlockPlan.choose(window, n_atoms, True)
        assert plan.fft_length == next_fast_len(plan.fft_length)
        assert plan.fft_length >= plan.starts + 2 * window
        assert plan.starts <= 12 * window
        fits = plan.frames * 24 * n_atoms <= SELF_BLOCK_BYTES
        assert fits or plan.starts == next_fast_len(6 * window) - 2 * window   # the floor
        assert plan.starts >= 4 * window
    assert BlockPlan.choose(window, 64, True).starts == 12 * window            # not binding
    # sized by cost up to the byte bound: more than the six windows of the 16 MB blocks (20 MB:
    # 7.7 windows of 1000 atoms, the memory goal kept with room to spare)
    assert BlockPlan.choose(window, 1000, True).starts >= 7 * window


def blocks_and_one_block(incoherent, engine=None):
    """The sums of a trajectory of several blocks of the default plan (twelve windows or what
    SELF_BLOCK_BYTES allows with the self part, four without) and a remainder, with ``engine``
    (an EngineChoice; numba by default), and the same trajectory as one numba block."""
    from mantid_mdinsim.sqw.engines import EngineChoice, make_correlator

    rng = np.random.default_rng(5)
    n_atoms, window = 40, 10
    plan = BlockPlan.choose(window, n_atoms, incoherent)
    n_frames = 3 * plan.starts + window + 27          # three full blocks and a remainder
    species = rng.integers(0, 2, n_atoms)
    q_indices = rng.integers(-5, 6, (23, 3))
    fractional = (rng.random((1, n_atoms, 3))
                  + rng.normal(0, 0.02, (n_frames, n_atoms, 3)).cumsum(0))
    single = BlockPlan(window, n_frames, next_fast_len(n_frames + 2 * window),
                       next_fast_len(2 * window))
    results = []
    for choice, chosen in ((engine or EngineChoice(), None), (EngineChoice(), single)):
        correlator = make_correlator(choice, species, 2, q_indices, window, incoherent,
                                     plan=chosen)
        for frame in fractional:
            correlator.push(frame % 1.0)
        correlator.finish()
        results.append((correlator.take(), correlator.blocks_done))
        correlator.close()
    (blocks, n_blocks), (whole, n_whole) = results
    assert (n_blocks, n_whole) == (4, 1)
    np.testing.assert_array_equal(blocks.counts, whole.counts)
    return blocks, whole


@pytest.mark.parametrize("incoherent", [True, False])
def test_blocks_of_the_default_plan_equal_one_block(incoherent):
    blocks, whole = blocks_and_one_block(incoherent)
    np.testing.assert_allclose(blocks.coherent, whole.coherent, rtol=0,
                               atol=1e-12 * np.abs(whole.coherent).max())
    if incoherent:
        np.testing.assert_allclose(blocks.incoherent, whole.incoherent, rtol=0,
                                   atol=1e-12 * np.abs(whole.incoherent).max())


def test_the_engines_fft_is_numpys_and_independent_of_how_rows_are_split():
    """fft_in_place (ducc0) equals numpy's FFT to rounding, and each row's result is the same
    bit for bit whatever batch it is transformed in (ducc0 alone rounds the rows left over
    from its SIMD groups differently): results may not depend on the threads or pieces."""
    from mantid_mdinsim.sqw.correlation import fft_in_place

    rng = np.random.default_rng(5)
    rows = np.exp(2j * np.pi * rng.random((37, 140)))
    rows[:, 120:] = 0.0                                  # zero padding, as in the engine
    whole = fft_in_place(rows.copy())
    np.testing.assert_allclose(whole, np.fft.fft(rows), rtol=0, atol=1e-13 * 120)
    inverse = fft_in_place(rows.copy(), inverse=True)
    np.testing.assert_allclose(inverse, np.fft.ifft(rows), rtol=0, atol=1e-15)
    for size in (1, 5, 16, 21):
        for first in range(0, len(rows), size):
            part = fft_in_place(rows[first:first + size].copy())
            assert np.array_equal(part, whole[first:first + size]), (size, first)


@pytest.mark.parametrize("incoherent", [True, False])
def test_q_point_pieces_are_bitwise_the_whole_calculation(system, incoherent):
    """A calculation split into pieces of q-points (as on a cluster) gives the whole one's sums
    bit for bit: each q-point's FFTs round alike in any batch."""
    fractional, cell, species, q_indices, window, _ = system
    q_indices = np.concatenate([q_indices] * 3)          # 27 q-points: rows left over
    whole, _ = run(fractional, species, q_indices, window, incoherent)
    for pieces in ([slice(0, 10), slice(10, 27)], [slice(0, 17), slice(17, 27)]):
        for part in pieces:
            sums, _ = run(fractional, species, q_indices[part], window, incoherent)
            assert np.array_equal(sums.coherent, whole.coherent[:, part])
            if incoherent:
                assert np.array_equal(sums.incoherent, whole.incoherent[:, part])
