"""S(q,w) in pieces for a Dask cluster: split by (run, block of frames, block of q-points), merge
in a fixed order.

A piece reads its trajectory itself (workers see the files on a shared file system; the client
checks that up front) from its first frame, and returns the :class:`~.correlation.
CorrelationSums` of its window starts, one per *batch* (``batch_blocks`` blocks of the block
plan of the whole calculation), its q-points only. The frame blocks are whole batches, so a
piece's blocks are exactly the blocks of the streaming calculation in one process, and for a
single trajectory its batches are the samples whose spread gives the errors there too.

Which starts a piece owns: the piece of batches ``[b0, b1)`` owns the starts
``[b0 L, b1 L)`` (``L`` starts per batch), reading frames up to ``b1 L + W``. Where the file ends
before that, the piece is the last one of its run and owns every start up to the end (it
finishes the correlator as the streaming code does at the end of a file); a later piece whose
file ends within ``W`` frames of its first start then owns nothing. The last piece of a run is
open-ended, so a frame count estimated too low loses nothing.

Merging (client side, in piece order, independent of the number of workers and the order they
finish in): per run and batch the q-blocks are joined along q; for a single trajectory each
batch is one sample, for several runs the batches of a run are summed in order into its sample.
Compared with the streaming calculation in one process: the same blocks and samples, summed in a
different order where a run is split (several runs) and with the self part's per-thread sums
grouped differently; the results agree within 1e-12 relative (tests/sqw/test_distributed.py).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..execution import Executor, Piece, piece_progress
from ..io.atomic import atomic_path
from ..io.trajectory import TrajectoryReader, open_trajectory
from ..progress import ProgressReporter
from .correlation import BlockPlan, CorrelationSums, too_short_error
from .engines import EngineChoice, make_correlator

#: q-points per piece. Every piece parses its frames itself: measured here (docs/scaling.md),
#: parsing extended XYZ costs about 0.9 us per atom and frame, the correlations (coherent and
#: self part) about 16 ns per atom, frame and q-point, so a block of 200 q-points spends about
#: a fifth of its time reading; smaller blocks balance better and read more.
Q_BLOCK = 200


@dataclass
class PieceSums:
    """What a piece returns: one CorrelationSums per batch (its q-points), and the frame after
    the last one it read (the frame count where it reached the end of the file)."""

    samples: list[CorrelationSums]
    end_frame: int


def correlate_piece(path: str, species_index: np.ndarray, n_species: int,
                    q_indices: np.ndarray, window: int, incoherent: bool, plan: BlockPlan,
                    batch_blocks: int, first_batch: int, n_batches: int | None,
                    memory_bytes: int, threads: int, engine: EngineChoice | None = None,
                    species_from: str | None = None) -> PieceSums:
    """The sums of the starts of batches ``[first_batch, first_batch + n_batches)`` of one
    trajectory (``n_batches`` None: to the end of the file) for the q-points ``q_indices``."""
    progress = piece_progress()
    reader = open_trajectory(path, species_from=species_from)
    try:
        inverse_cell = np.linalg.inv(reader.cell)
        correlator = make_correlator(engine or EngineChoice(), species_index, n_species,
                                     q_indices, window, incoherent, memory_bytes=memory_bytes,
                                     workers=threads, plan=plan)
        first_frame = first_batch * batch_blocks * plan.starts
        wanted = None if n_batches is None else n_batches * batch_blocks * plan.starts + window
        expected = wanted or max(1, (reader.estimated_frame_count() or 1) - first_frame)
        samples: list[CorrelationSums] = []
        frame, blocks_at_batch = first_frame, 0
        try:
            for positions in reader.frames(start=first_frame):
                correlator.push(positions @ inverse_cell)
                frame += 1
                if correlator.blocks_done - blocks_at_batch >= batch_blocks:
                    blocks_at_batch = correlator.blocks_done
                    samples.append(correlator.take())
                    progress.report(min((frame - first_frame) / expected, 0.99),
                                    f"{reader.path.name}: frame {frame}")
                    if n_batches is not None and len(samples) == n_batches:
                        return PieceSums(samples, frame)
            read = frame - first_frame
            if first_frame == 0 and read < window + 1:
                raise too_short_error(reader, read, window)
            if first_frame > 0 and read < window:
                # the piece before reached the end of the file and owns these starts
                return PieceSums([], frame)
            correlator.finish()
            last = correlator.take()
            if last.windows > 0:
                samples.append(last)
            return PieceSums(samples, frame)
        finally:
            correlator.close()
    finally:
        reader.close()


def _join_q(parts: list[CorrelationSums]) -> CorrelationSums:
    """One batch's sums from its q-blocks (in q order)."""
    first = parts[0]
    for other in parts[1:]:
        if not np.array_equal(other.counts, first.counts):
            raise RuntimeError("q-blocks of one batch counted different frame pairs")
    incoherent = None
    if first.incoherent is not None:
        incoherent = np.concatenate([p.incoherent for p in parts], axis=1)
    return CorrelationSums(np.concatenate([p.coherent for p in parts], axis=1), incoherent,
                           first.counts.copy(), first.frames)


class _PieceStore:
    """Completed pieces on disk beside the checkpoint, so that a run that lost its cluster
    resumes with them (valid only for the same inputs: ``key``)."""

    def __init__(self, checkpoint: str | os.PathLike, key: str):
        self.folder = Path(str(checkpoint) + ".pieces")
        self.key = key

    def _path(self, piece_key: str) -> Path:
        name = hashlib.sha1(f"{self.key}/{piece_key}".encode()).hexdigest()[:20]
        return self.folder / f"{name}.npz"

    def load(self, piece_key: str) -> PieceSums | None:
        path = self._path(piece_key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                count = int(data["count"])
                samples = [CorrelationSums(data[f"coherent_{k}"],
                                           data[f"incoherent_{k}"] if f"incoherent_{k}" in data
                                           else None, data[f"counts_{k}"],
                                           int(data[f"frames_{k}"])) for k in range(count)]
                return PieceSums(samples, int(data["end_frame"]))
        except Exception:
            return None

    def save(self, piece_key: str, result: PieceSums) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        arrays = {"count": np.array(len(result.samples)), "end_frame": np.array(result.end_frame)}
        for k, sample in enumerate(result.samples):
            arrays[f"coherent_{k}"] = sample.coherent
            arrays[f"counts_{k}"] = sample.counts
            arrays[f"frames_{k}"] = np.array(sample.frames)
            if sample.incoherent is not None:
                arrays[f"incoherent_{k}"] = sample.incoherent
        with atomic_path(self._path(piece_key)) as temporary:
            with open(temporary, "wb") as handle:
                np.savez(handle, **arrays)

    def remove(self) -> None:
        if self.folder.is_dir():
            for path in self.folder.glob("*.npz"):
                path.unlink()
            self.folder.rmdir()


def correlate_in_pieces(executor: Executor, readers: list[TrajectoryReader],
                        species_index: np.ndarray, n_species: int, q_indices: np.ndarray,
                        window: int, incoherent: bool, memory_bytes: int, batch_blocks: int,
                        add_sample: Callable[[CorrelationSums, CorrelationSums | None],
                                             CorrelationSums],
                        progress: ProgressReporter, checkpoint: str | os.PathLike | None = None,
                        checkpoint_key: str = "", engine: EngineChoice | None = None,
                        species_from: str | None = None) -> tuple[CorrelationSums, list[int]]:
    """Run the pieces on ``executor`` and merge them; ``add_sample(sample, total)`` adds one
    sample to the statistics and returns the new total. Returns the total and the frames of
    each run."""
    n_q = len(q_indices)
    plan = BlockPlan.choose(window, len(species_index), incoherent, n_species, n_q,
                            memory_bytes)
    batch_starts = batch_blocks * plan.starts
    q_blocks = [slice(start, min(start + Q_BLOCK, n_q)) for start in range(0, n_q, Q_BLOCK)]
    threads = executor.spec.threads_per_worker
    layout: list[tuple[int, int, int]] = []       # (run, batch, q-block), in merge order
    pieces: list[Piece] = []
    for run, reader in enumerate(readers):
        estimate = reader.estimated_frame_count() or 1
        n_batches = max(1, -(-max(estimate - window, 1) // batch_starts))
        for batch in range(n_batches):
            last = batch == n_batches - 1
            frames = (max(estimate - batch * batch_starts, window) if last
                      else batch_starts + window)
            for block, q_slice in enumerate(q_blocks):
                layout.append((run, batch, block))
                pieces.append(Piece(
                    key=f"sqw-run{run}-batch{batch}-q{block}", function=correlate_piece,
                    args=(str(reader.path.resolve()), species_index, n_species,
                          q_indices[q_slice], window, incoherent, plan, batch_blocks, batch,
                          None if last else 1, memory_bytes, threads, engine, species_from),
                    weight=float(frames * (q_slice.stop - q_slice.start))))

    store = _PieceStore(checkpoint, checkpoint_key) if checkpoint else None
    results: list[PieceSums | None] = [store.load(p.key) if store else None for p in pieces]
    todo = [index for index, result in enumerate(results) if result is None]

    def keep(position: int, result: PieceSums) -> None:
        if store:
            store.save(pieces[todo[position]].key, result)

    computed = executor.run([pieces[i] for i in todo], progress.sub(0.0, 0.98), keep,
                            input_files=[reader.path for reader in readers])
    for index, result in zip(todo, computed):
        results[index] = result

    # -- merge, in piece order ------------------------------------------------------------
    total: CorrelationSums | None = None
    frames_per_run = [0] * len(readers)
    single = len(readers) == 1
    by_batch: dict[tuple[int, int], list[PieceSums]] = {}
    for (run, batch, _), result in zip(layout, results):
        by_batch.setdefault((run, batch), []).append(result)
        frames_per_run[run] = max(frames_per_run[run], result.end_frame)
    for run in range(len(readers)):
        run_sample: CorrelationSums | None = None
        for batch in sorted(b for r, b in by_batch if r == run):
            blocks = by_batch[(run, batch)]
            for k in range(len(blocks[0].samples)):
                sample = _join_q([block.samples[k] for block in blocks])
                if single:
                    total = add_sample(sample, total)
                else:
                    run_sample = sample if run_sample is None else run_sample + sample
        if run_sample is not None and run_sample.windows > 0:
            total = add_sample(run_sample, total)
    if store:
        store.remove()
    return total, frames_per_run
