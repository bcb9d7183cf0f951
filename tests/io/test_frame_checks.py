"""The checks every reader shares, on frames given one by one and in batches (``FrameBatch``,
issue 17): the same frames reach the caller with the same recorded times, and the same error
(message and frame) is raised at the same place, however the frames are cut into batches.

The reference is the one-frame path (``_FrameChecks.check``, the code before batches); the
batches go through ``_FrameChecks.clear_frames``, which passes the leading frames of a batch
with whole-array operations and leaves the rest to that one-frame path.
"""

from __future__ import annotations

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mantid_mdinsim.errors import InputFileError
from mantid_mdinsim.io.trajectory import FrameBatch, TrajectoryReader

SETTINGS = settings(max_examples=int(os.environ.get("MDINSIM_FUZZ_EXAMPLES", 120)) * 3,
                    deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


class _Given(TrajectoryReader):
    """A reader whose parser yields prepared frames (one by one, or batches)."""

    def __init__(self, path, items):
        super().__init__(path)
        self.n_atoms = items[0][0].shape[-2] if items else 1
        self._items = items

    def frames(self, start: int = 0):
        for positions, times in self._items:
            if positions.ndim == 2:
                self.frame_time = times
                yield positions
            else:
                # a parser that saw every number finite may say so (the extended-XYZ
                # kernel): the finite sums are left out, the rest is the same (batches of an
                # even length say it, the others go through the sums)
                yield FrameBatch(positions, times, len(positions) % 2 == 0
                                 and bool(np.isfinite(positions).all()))


def _read(path, items):
    frames, times = [], []
    reader = _Given(path, items)
    try:
        for positions in reader.frames():
            frames.append(positions.copy())
            times.append(reader.frame_time)
    except InputFileError as error:
        return frames, times, str(error)
    return frames, times, None


@st.composite
def frame_series(draw):
    """Positions and recorded times of a trajectory, maybe spoilt as MD output gets spoilt:
    a frame repeated, NaN or inf, huge values whose sum overflows, times missing, repeated,
    backwards or with a gap."""
    n_frames = draw(st.integers(1, 12))
    n_atoms = draw(st.integers(1, 4))
    generator = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    positions = generator.uniform(-5, 5, (n_frames, n_atoms, 3))
    interval = draw(st.sampled_from([1.0, 0.5, 2.5e-3, 10.0]))
    times: list[float | None] = [draw(st.sampled_from([0.0, 7.0])) + interval * k
                                 for k in range(n_frames)]
    time_kind = draw(st.sampled_from(["all", "all", "none", "some"]))
    if time_kind == "none":
        times = [None] * n_frames
    elif time_kind == "some":
        for k in draw(st.lists(st.integers(0, n_frames - 1), max_size=3)):
            times[k] = None
    for _ in range(draw(st.integers(0, 2))):
        frame = draw(st.integers(0, n_frames - 1))
        kind = draw(st.sampled_from(["repeat", "first-coordinate", "nan", "inf", "overflow",
                                     "same-time", "back", "gap", "jitter"]))
        if kind == "repeat" and frame:
            positions[frame] = positions[frame - 1]
        elif kind == "first-coordinate" and frame:     # only the first number repeats
            positions[frame, 0, 0] = positions[frame - 1, 0, 0]
        elif kind in ("nan", "inf"):
            positions[frame, draw(st.integers(0, n_atoms - 1)), draw(st.integers(0, 2))] = \
                np.nan if kind == "nan" else -np.inf
        elif kind == "overflow":                      # finite, but the sum is not
            positions[frame, :, :] = 1.5e308
        elif times[frame] is not None and frame:
            step = {"same-time": 0.0, "back": -0.5, "gap": 2.0,
                    "jitter": 1 + draw(st.sampled_from([5e-4, 2e-3]))}[kind]
            times[frame] = times[frame] + (step - 1) * interval if kind != "same-time" \
                else times[frame - 1]
    return positions, times


def _cut(positions, times, cuts, singles) -> list:
    """The frames as items: batches between the cut points, some frames alone."""
    items = []
    bounds = sorted({0, len(positions), *[c for c in cuts if c < len(positions)]})
    for first, last in zip(bounds[:-1], bounds[1:]):
        if first in singles:
            for k in range(first, last):
                items.append((positions[k].copy(), times[k]))
            continue
        part = times[first:last]
        batch_times = None if all(t is None for t in part) else \
            np.array([np.nan if t is None else t for t in part])
        items.append((positions[first:last].copy(), batch_times))
    return items


@SETTINGS
@given(series=frame_series(), cuts=st.lists(st.integers(1, 11), max_size=4),
       singles=st.sets(st.integers(0, 11), max_size=3))
def test_batches_checked_as_frames(tmp_path, series, cuts, singles):
    path = tmp_path / "t.xyz"
    path.write_text("1\n\nSi 0 0 0\n")
    positions, times = series
    reference = _read(path, [(positions[k].copy(), times[k]) for k in range(len(positions))])
    batched = _read(path, _cut(positions, times, cuts, singles))
    assert batched[2] == reference[2]
    assert batched[1] == reference[1]
    assert len(batched[0]) == len(reference[0])
    for a, b in zip(batched[0], reference[0]):
        assert a.tobytes() == b.tobytes()


def test_each_spoilt_frame_is_found_in_a_batch(tmp_path):
    """Every check raises at its frame inside one batch of 6 (the examples above are random:
    these cases are certain)."""
    path = tmp_path / "t.xyz"
    path.write_text("1\n\nSi 0 0 0\n")
    generator = np.random.default_rng(1)
    base = generator.uniform(0, 5, (6, 2, 3))
    cases = {"repeat": "frame 4: the positions are those of frame 3 again",
             "nan": "frame 4: atom 1 has a position that is not a finite number",
             "same-time": "frame 4: has the same time (3) as frame 3",
             "back": "frame 4: its time (2) is before that of frame 3 (3)",
             "gap": "frame 4: is 2 after frame 3 (time), the frames before are 1 apart"}
    for kind, message in cases.items():
        positions, times = base.copy(), np.arange(6.0)
        if kind == "repeat":
            positions[4] = positions[3]
        elif kind == "nan":
            positions[4, 1, 2] = np.nan
        elif kind == "same-time":
            times[4] = 3.0
        elif kind == "back":
            times[4] = 2.0
        else:
            times[4:] += 1.0
        frames, _, error = _read(path, [(positions, times)])
        assert len(frames) == 3     # the frame before the bad one is held back, then raised
        assert error is not None and message in error, (kind, error)
