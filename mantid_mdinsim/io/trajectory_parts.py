"""Extended-XYZ frames read in parts of the file, on threads (issue 17).

The file from a frame's start on is cut into parts of :data:`PART_BYTES` at fixed offsets. A
part is the frames whose count line (their *anchor*) starts inside it; a thread reads the part
with a ``pread`` of its own (from the page cache straight into the part's buffer: no copy of a
remainder, nothing read twice but the last frame's overhang) and parses it with one numba call,
:func:`parse_part`: blank lines, the count line, the comment line and the atom lines of each
frame in one pass, so no scan of the text runs before the parse (until session 12 a scan
counted the newlines first: scan and parse took 25 % more processor time than this kernel,
`benchmarks/bench_xyz_kernel.py --before <older tree>`).

A part other than the first starts in the middle of some line: :func:`parse_part` *syncs*: it
goes from line to line until a count line holding the atom count is followed by a comment line
and atom lines that parse as a whole frame. A comment line that reads as the count could fool
that, so the parts are *chained*: part k is taken only where its first anchor is the one that
part k-1, parsed from a known frame start, stopped at; else part k is parsed again from there
(a garbled region, blank lines at a part's start). So the frames are those of one parse from
the start, whatever the cuts; tests/io/test_xyz_batches.py checks them (and every error)
against the frame-by-frame reading with parts of a few bytes on 1 to 4 threads.

A frame that is not plain (another count, a line that does not parse, another species, the
file ending inside it) ends the parts: :class:`FrameParts` says where (``stop_offset``, lines
``lines``) and the caller reads that frame frame by frame, for its exact error, then starts the
parts again after it.
"""

from __future__ import annotations

import collections
import functools
import os
import queue
import threading
from dataclasses import dataclass
from typing import Iterator

import numba
import numpy as np

from ..execution import READER_THREADS, available_cores
from .trajectory_text import (_FAST_BYTES, _PLAIN_LINES, _POWERS_OF_TEN, STATUS_NEED_MORE,
                              STATUS_OK, _count_line_value, _is_space, _plain_layout,
                              _plain_line, _Reused, parse_atom_lines)

#: Bytes of the file a part starts on (its frames run on past it to their ends). 1 MB: ~23
#: frames of 1000 atoms; the threads of a 2-core VM kept busy, and a part's buffer stays in
#: the caches of the core that reads and parses it.
PART_BYTES = 1 << 20
#: A part starts on at least this many frames' bytes where frames are large (13,824 atoms:
#: ~0.6 MB), so that a part's hand-over to a thread stays small beside its parse.
MIN_FRAMES_PER_PART = 3
#: Parts read ahead beyond one a thread, while the caller uses the ones before.
PARTS_AHEAD = 2
#: A part's buffer holds this many of frame 0's sizes and bytes beyond its limit (its last
#: frame, the blank lines and count line after it); a frame longer than that is read on in a
#: larger buffer.
MARGIN_FRAMES = 1.25
SLACK_BYTES = 4096
#: The page the kernel copies a file's bytes in (see :meth:`_PositionalFile.read_at`).
PAGE_BYTES = 4096
#: A buffer read on holds twice the cut frame's bytes so far and this many more (progress
#: whatever the margin).
READ_ON_BYTES = 4096
#: At most this many threads (reading is then limited by the disk).
MAX_PARSE_THREADS = 4

#: :func:`parse_part`'s status: it stopped at the first anchor at or after the limit (``stop``
#: is that anchor), where the buffer ends (``stop``: where the cut frame begins), before a
#: frame that is not plain (``stop``: where it begins), or with ``out`` full (``stop``: where
#: the next frame begins).
PART_NEXT = 0
PART_CUT = 1
PART_NOT_PLAIN = 2
PART_FULL = 3


@numba.njit(cache=True, nogil=True)
def _line_after(buf, i, size):
    """The offset after the newline that ends the line holding ``buf[i]``, or -1."""
    while i < size and buf[i] != 10:
        i += 1
    return i + 1 if i < size else -1


# error_model="numpy": the plain line divides by exact powers of ten, never zero (no check
# and branch for each division)
@numba.njit(cache=True, nogil=True, error_model="numpy")
def parse_part(buf, start, limit, sync, n_atoms, roles, out, first, hashes, expected_hashes,
               powers, comment_starts, comment_ends, not_finite):
    """Parse the plain whole frames from ``buf[start:]`` whose count lines start before
    ``limit`` into ``out[first:]``, their comment lines' bytes into ``comment_starts`` and
    ``comment_ends`` (without the newline).

    A frame: blank lines, a count line that is exactly ``n_atoms`` (blanks and digits), a
    comment line, then ``n_atoms`` atom lines: plain lines by :func:`_plain_line`, the rest
    of a frame from its first other line by :func:`parse_atom_lines` (the same numbers, bit
    for bit), the species as ``expected_hashes``. ``sync``: ``start`` is somewhere in a line;
    the first frame is looked for from the next line start on (see the module's docstring),
    and none is looked for from a line start at or after ``limit``.

    Returns ``(found, status, stop, lines, anchor)``: ``out[first:found]`` filled, the
    ``PART_*`` status, the offset it stopped at, the lines from the start (with ``sync``:
    from ``anchor``) to ``stop``, and with ``sync`` the count line's offset where the first
    frame was found (-1 where none was: ``stop`` says where to look on from).
    ``not_finite[0]`` is raised where a line read by the general code holds a number that is
    not finite (the plain line's numbers are: at most 15 digits), so that the callers' finite
    check may be left out where it stays 0."""
    size = buf.shape[0]
    plain = _PLAIN_LINES and _plain_layout(roles)
    base = np.uint64(buf.ctypes.data)
    n_columns = roles.shape[0]
    i = start
    if sync and i > 0 and buf[i - 1] != 10:
        i = _line_after(buf, i, size)
        if i < 0:
            return first, PART_CUT, start, 0, -1
    found = first
    lines = 0
    anchor = -1
    while True:
        # blank lines before the count line, as the frame-by-frame path skips them
        j = i
        blank_lines = 0
        while True:
            k = j
            while k < size and _is_space(buf[k]):
                k += 1
            if k < size and buf[k] == 10:
                j = k + 1
                blank_lines += 1
                continue
            break
        if sync and j >= limit:
            return found, PART_NEXT, j, 0, j
        if j >= size:
            return found, PART_CUT, i, lines, anchor
        if j >= limit:
            return found, PART_NEXT, j, lines + blank_lines, anchor
        if found == out.shape[0]:
            return found, PART_FULL, i, lines, anchor
        value, after = _count_line_value(buf, j, size)
        if value == -2:
            return found, PART_CUT, (j if sync else i), lines, anchor
        ok = value == n_atoms
        comment_start = after
        comment_end = after
        a = after
        if ok:
            a = _line_after(buf, after, size)
            if a < 0:
                return found, PART_CUT, (j if sync else i), lines, anchor
            comment_end = a - 1
            frame = out[found]
            line = 0
            if plain:
                while line < n_atoms and a >= 16 and a + _FAST_BYTES <= size:
                    length, species, x, y, z, good = _plain_line(base + np.uint64(a),
                                                                 n_columns)
                    if not good:
                        break
                    if species != expected_hashes[line]:
                        ok = False
                        break
                    frame[line, 0] = x
                    frame[line, 1] = y
                    frame[line, 2] = z
                    a += length
                    line += 1
            if ok and line < n_atoms:
                status, a, _, _ = parse_atom_lines(buf, a, n_atoms - line, roles, False,
                                                   frame[line:], hashes[line:], powers)
                if status == STATUS_NEED_MORE:
                    return found, PART_CUT, (j if sync else i), lines, anchor
                if status != STATUS_OK:
                    ok = False
                else:
                    for atom in range(line, n_atoms):
                        if hashes[atom] != expected_hashes[atom]:
                            ok = False
                            break
                        total = frame[atom, 0] + frame[atom, 1] + frame[atom, 2]
                        if total - total != 0.0:     # NaN or inf (or a sum that overflows)
                            not_finite[0] += 1
        if not ok:
            if not sync:
                return found, PART_NOT_PLAIN, i, lines, anchor
            # not a frame's count line after all: on from the next line
            i = _line_after(buf, j, size)
            if i < 0:
                return found, PART_CUT, j, 0, -1
            continue
        if sync:
            sync = False
            anchor = j
        else:
            lines += blank_lines
        comment_starts[found] = comment_start
        comment_ends[found] = comment_end
        lines += 2 + n_atoms
        found += 1
        i = a


@dataclass
class _Part:
    """One part's work: the file from ``offset`` into ``buffer``, the frames anchored before
    ``limit`` (file offsets)."""

    offset: int
    limit: int
    sync: bool
    size: int                   # bytes read into a text buffer (taken by the thread)
    positions: np.ndarray


@dataclass
class _PartResult:
    positions: np.ndarray       # (frames, n_atoms, 3), Angstrom
    comments: list[bytes]
    status: int
    stop: int                   # file offset
    lines: int                  # from ``anchor`` to ``stop``
    #: where the part's frames begin: its start, or where a synced part found its first
    #: frame's count line (-1: it found none)
    anchor: int
    finite: bool                # every position is a finite number


class _DaemonPool:
    """Daemon threads running ``function(argument)`` calls: a ThreadPoolExecutor's threads
    are not daemons, and one alive at exit keeps :func:`lifetime.end_process` from its fast
    exit."""

    def __init__(self, threads: int):
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        for index in range(threads):
            threading.Thread(target=self._work, name=f"mdinsim-parse-{threads}-{index}",
                             daemon=True).start()

    def _work(self) -> None:
        while True:
            function, argument, results = self._tasks.get()
            try:
                results.put((True, function(argument)))
            except BaseException as error:  # handed to the caller, raised there
                results.put((False, error))
            # the task's arrays are not kept alive while the thread waits for the next one
            del function, argument, results

    def submit(self, function, argument) -> queue.SimpleQueue:
        """Run ``function(argument)`` on a pool thread; :meth:`result` waits for it."""
        result: queue.SimpleQueue = queue.SimpleQueue()
        self._tasks.put((function, argument, result))
        return result

    @staticmethod
    def result(result: queue.SimpleQueue):
        ok, value = result.get()
        if not ok:
            raise value
        return value


#: The pools by their number of threads: a reader's parts ahead wait in its pool's queue.
_pools: dict[int, _DaemonPool] = {}
_pool_lock = threading.Lock()


def _asked_threads() -> int | None:
    """The threads somebody asked for: the piece's limit (:func:`execution.thread_limits`, a
    Dask worker's ``--threads-per-worker``), else ``OMP_NUM_THREADS`` where it is a number
    (Dask's nanny sets it to 1 in every worker); None where nobody did."""
    limit = READER_THREADS.get()
    if limit is not None:
        return limit
    try:
        return int(os.environ["OMP_NUM_THREADS"])
    except (KeyError, ValueError):
        return None


@functools.cache
def _cores() -> int:
    """The cores this process may run on (asked once: 30 us a call)."""
    return available_cores()


def parse_threads() -> int:
    """Threads the parts may be read and parsed on: those asked for
    (:func:`_asked_threads`), else the cores this process may run on; at most
    ``MAX_PARSE_THREADS``."""
    limit = _asked_threads()
    if limit is None:
        limit = _cores()
    return max(1, min(limit, MAX_PARSE_THREADS))


def _pool_threads(threads: int) -> int:
    """Pool threads for a reader on ``threads``: one more where nobody asked for a number of
    threads (:func:`_asked_threads`), so that while a part waits for the disk or for a core
    the caller's checks hold, another parses (27 MB on 2 cores, 2 threads, pools of 2 against
    3, medians of 11, four runs: cold 28.1 -> 24.9, 33.7 -> 31.2, 35.0 -> 31.0, 31.3 -> 29.1
    ms; warm 21.6 -> 19.4, 26.8 -> 20.8, 21.6 -> 20.3, 20.8 -> 18.2 ms; a pool of 4 was no
    better). A piece keeps to the threads it was given."""
    if threads > 1 and _asked_threads() is None:
        return threads + 1
    return threads


def _thread_pool(threads: int) -> _DaemonPool:
    with _pool_lock:
        if threads not in _pools:
            _pools[threads] = _DaemonPool(threads)
        return _pools[threads]


def _forget_pools_in_child() -> None:
    """A forked child has none of the parent's threads: it starts pools of its own (a task
    put on an inherited queue would wait for ever)."""
    global _pools, _pool_lock
    _pools, _pool_lock = {}, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_in_child)


#: The parts' texts, for every reader of the process: a text is needed only while a thread
#: reads and parses its part (its comment lines are copied out), so there are as many as
#: parts read at once, not as many as parts in flight.
_TEXTS = _Reused(lambda size: np.empty(size, dtype=np.uint8), len, keep=MAX_PARSE_THREADS + 2)
#: The parts' positions arrays of the atom count read last (a caller's batch holds them).
_ARRAYS: dict[int, _Reused] = {}


def _kept_arrays(n_atoms: int, keep: int) -> _Reused:
    """The positions arrays for frames of ``n_atoms``, keeping at least ``keep``; those of
    another atom count are let go (a reader still open keeps its own)."""
    with _pool_lock:
        arrays = _ARRAYS.get(n_atoms)
        if arrays is None:
            arrays = _Reused(lambda frames: np.empty((frames, n_atoms, 3)),
                             lambda array: array.shape[0], keep=keep)
            _ARRAYS.clear()
            _ARRAYS[n_atoms] = arrays
        arrays.keep = max(arrays.keep, keep)
        return arrays


class _PositionalFile:
    """A file read at given offsets from several threads at once: ``preadv`` where the system
    has it (Linux, macOS: no shared file position), else a seek and a read under a lock
    (Windows)."""

    def __init__(self, path):
        self._handle = open(path, "rb", buffering=0)
        self.fd = self._handle.fileno()
        self._positional = hasattr(os, "preadv")
        self._lock = threading.Lock()

    def read_at(self, offset: int, size: int, buffer: np.ndarray | None = None) -> np.ndarray:
        """The file's bytes from ``offset``, ``size`` of them (fewer only at the end of the
        file), read into ``buffer`` (bytes, at least ``size + PAGE_BYTES``; a new one where
        None) at the place whose address is ``offset`` modulo :data:`PAGE_BYTES`.

        Why that place: the kernel copies from the page cache with ``rep movsb``, which on AMD
        Zen processors (this VM's EPYC) runs ~7x slower where the destination lies 1-31 bytes
        past the source modulo 4 kB: 1 MB reads from the page cache into a buffer 16 bytes
        past a page start (where glibc's ``mmap`` puts a fresh large array) 2.6 GB/s against
        17-19 GB/s at 0 or 32-4095 bytes (session 14). A part's offsets are one frame's start
        plus whole parts, so the whole file of a given frame 0 size was read slowly or not;
        a fresh process (``mdinsim sqw``) takes such arrays. The place makes the distance 0."""
        if buffer is None:
            buffer = np.empty(size + PAGE_BYTES, dtype=np.uint8)
        shift = (offset - buffer.ctypes.data) % PAGE_BYTES
        window = buffer[shift:shift + size]
        got = 0
        with memoryview(window) as view:
            while got < size:
                if self._positional:
                    count = os.preadv(self.fd, [view[got:]], offset + got)
                else:
                    with self._lock:
                        self._handle.seek(offset + got)
                        count = self._handle.readinto(view[got:])
                if not count:
                    break
                got += count
        return window[:got]

    def close(self) -> None:
        self._handle.close()


class FrameParts:
    """The plain whole frames of an extended XYZ file, in parts (see the module's docstring),
    on the threads :func:`parse_threads` allows. :meth:`batches` gives them from a frame's
    start; after it, :attr:`stop_offset` and :attr:`lines` say where the caller reads on
    frame by frame. Memory: the parts in flight (a pool thread's each and ``PARTS_AHEAD``),
    their buffers used again (:class:`_Reused`)."""

    def __init__(self, path, n_atoms: int, roles: np.ndarray, expected_hashes: np.ndarray,
                 frame_bytes: int):
        self._file = _PositionalFile(path)
        self._size = 0                      # what the file holds, as of the last batches()
        self._n_atoms, self._roles, self._expected = n_atoms, roles, expected_hashes
        self._frame_bytes = max(1, frame_bytes)
        self._margin = int(MARGIN_FRAMES * self._frame_bytes) + SLACK_BYTES
        self._part_bytes = max(PART_BYTES, MIN_FRAMES_PER_PART * self._frame_bytes)
        self._threads = parse_threads()     # the caller's limit (a context variable)
        self._workers = _pool_threads(self._threads)
        in_flight = (self._workers + PARTS_AHEAD) if self._threads > 1 else 1
        self._arrays = _kept_arrays(n_atoms, keep=in_flight + 3)
        self._pending: collections.deque = collections.deque()
        self.stop_offset = 0
        self.lines = 0

    def close(self) -> None:
        """Wait for the parts in flight (they read the file), then close it; the buffers are
        kept for the next reader up to :data:`trajectory_text.KEPT_BYTES` each kind."""
        self._drain()
        self._file.close()
        _TEXTS.trim()
        self._arrays.trim()

    def batches(self, offset: int) -> Iterator[tuple[np.ndarray, list[bytes], bool]]:
        """``(positions, comment lines, finite)`` of the plain whole frames from ``offset`` (a
        frame's start, or blank lines before it), a part at a time: positions of shape
        ``(frames, n_atoms, 3)``, comment lines without their line ends, ``finite``: every
        position is a finite number. Then ``stop_offset`` is where the first frame that is
        not plain begins (or the end of what the file holds), ``lines`` the lines from
        ``offset`` to there."""
        self.stop_offset, self.lines = offset, 0
        # a file still being written is read up to what it holds now (the rest, frame by
        # frame, as the caller reads on)
        self._size = os.fstat(self._file.fd).st_size
        try:
            # one frame first, on this thread: after a frame read frame by frame the next may
            # be another such, and nothing more is read for it
            result = self._run(self._part(offset, offset + 1, False))
            yield from self._taken(result)
            if result.status != PART_NEXT:
                return
            if self._threads < 2:
                while True:
                    start = self.stop_offset
                    result = self._run(self._part(start, start + self._part_bytes, False))
                    yield from self._taken(result)
                    if result.status != PART_NEXT:
                        return
            yield from self._parallel(self.stop_offset)
        finally:
            self._drain()

    def _parallel(self, origin: int) -> Iterator[tuple[np.ndarray, list[bytes], bool]]:
        """Parts at fixed offsets from ``origin`` (a frame's anchor) on the pool's threads,
        taken in order, each checked against the one before (the chain)."""
        pool = _thread_pool(self._workers)
        in_flight = self._workers + PARTS_AHEAD
        next_part = 0

        def submit() -> None:
            nonlocal next_part
            start = origin + next_part * self._part_bytes
            if start < self._size:
                part = self._part(start, start + self._part_bytes, next_part > 0)
                self._pending.append((part.limit, pool.submit(self._run, part)))
            next_part += 1

        while len(self._pending) < in_flight and origin + next_part * self._part_bytes \
                < self._size:
            submit()
        while self._pending:
            limit, waiting = self._pending.popleft()
            result = _DaemonPool.result(waiting)
            submit()
            if result.anchor != self.stop_offset:
                # the chain broken (a sync fooled by a line that reads as the count, blank
                # lines at the part's start): this part again from where the last one stopped
                result = self._run(self._part(self.stop_offset, limit, False))
            yield from self._taken(result)
            if result.status != PART_NEXT:
                return

    def _taken(self, result: _PartResult) -> Iterator[tuple[np.ndarray, list[bytes], bool]]:
        """Note where the part stopped, then yield its frames (none: nothing)."""
        self.stop_offset = result.stop
        self.lines += result.lines
        if result.comments:
            yield result.positions, result.comments, result.finite

    def _part(self, start: int, limit: int, sync: bool) -> _Part:
        """A part's work and its buffers. (The file is not asked for ahead, as ChunkedText
        does: with the parts read on threads, WILLNEED calls 8 MB ahead made a cold read
        slower, 2 threads 22.7 -> 29.3 ms for 27 MB, and no hint to the kernel, SEQUENTIAL
        or RANDOM, did better than none.)"""
        # a synced part starts a byte early: that byte says whether a line starts at start
        offset = start - 1 if sync else start
        size = max(0, min(self._size, max(limit, start) + self._margin) - offset)
        frames = self._frames_in(max(1, limit - start))
        return _Part(offset, limit, sync, size, self._arrays.take(frames)[:frames])

    def _frames_in(self, part_bytes: int) -> int:
        """Rows of a part's positions array: frames half frame 0's size, and two (a fuller
        part grows it)."""
        return part_bytes // max(1, self._frame_bytes // 2) + 2

    def _run(self, part: _Part) -> _PartResult:
        """Read and parse one part (on a pool thread or the caller's), reading on in larger
        buffers where a frame runs past the buffer, and a larger array where it is full."""
        n_atoms = self._n_atoms
        base, positions = part.offset, part.positions
        text = self._file.read_at(base, part.size, _TEXTS.take(part.size + PAGE_BYTES))
        got = len(text)
        at_end = got < part.size or base + got >= self._size
        start = 1 if part.sync else 0
        sync = part.sync
        hashes = np.empty(n_atoms, dtype=np.uint64)
        comment_starts = np.empty(len(positions), dtype=np.int64)
        comment_ends = np.empty(len(positions), dtype=np.int64)
        comments: list[bytes] = []
        not_finite = np.zeros(1, dtype=np.int64)
        found, lines, anchor = 0, 0, -1
        while True:
            done, status, stop, more_lines, first_anchor = parse_part(
                text, start, part.limit - base, sync, n_atoms, self._roles, positions, found,
                hashes, self._expected, _POWERS_OF_TEN, comment_starts, comment_ends,
                not_finite)
            comments += [text[comment_starts[k]:comment_ends[k]].tobytes().rstrip(b"\r")
                         for k in range(found, done)]
            if sync and first_anchor >= 0:
                sync, anchor = False, base + first_anchor
            found, lines = done, lines + more_lines
            if status == PART_FULL:
                grown = np.empty((2 * len(positions), n_atoms, 3))
                grown[:found] = positions[:found]
                positions = grown
                comment_starts = np.empty(len(positions), dtype=np.int64)
                comment_ends = np.empty(len(positions), dtype=np.int64)
                start = stop
                continue
            if status == PART_CUT and not at_end:
                # a frame (or a sync's line) runs past the buffer: on from it in a larger one
                # (still syncing: from the byte before, which says whether a line starts)
                base += stop - 1 if sync else stop
                want = min(self._size - base, 2 * (got - stop) + READ_ON_BYTES + self._margin)
                text = self._file.read_at(base, want)
                got = len(text)
                at_end = got < want or base + got >= self._size
                start = 1 if sync else 0
                continue
            return _PartResult(positions[:found], comments, status, base + stop, lines,
                               anchor if part.sync else part.offset, not not_finite[0])

    def _drain(self) -> None:
        """Wait for the parts in flight, their results dropped."""
        while self._pending:
            _, waiting = self._pending.popleft()
            try:
                _DaemonPool.result(waiting)
            except BaseException:       # the reading stopped: what it would have said
                pass
