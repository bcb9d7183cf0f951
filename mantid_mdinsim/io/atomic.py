"""Writing files so that nothing half-written is ever left under the final name.

Every output of mdinsim goes through :func:`atomic_path`: the writer writes a temporary file in
the same folder (so the final rename is atomic on the same file system), and only a writer that
finished renames it into place. A failure or a cancel removes the temporary file.

Errors of the environment (disk full, file size limit, read-only folder) become an
:class:`~mantid_mdinsim.errors.OutputWriteError` naming the output and, for a full disk, how
much space it needed; a writer that knows its size beforehand passes ``expected_bytes`` and is
refused before it writes anything.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import Iterator

from ..errors import OutputWriteError, format_bytes, os_error_message
from .paths import ensure_free_space, free_bytes, is_space_error


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, expected_bytes: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds.

    ``expected_bytes``: the size about to be written, checked against the free space first.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        if expected_bytes is not None:
            ensure_free_space(path, expected_bytes)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp-mdinsim",
                                             dir=path.parent)
    except OSError as error:
        raise _write_error(error, path, None) from None
    os.close(handle)
    temporary = Path(temporary)
    # mkstemp creates the file readable by its owner only; outputs get the usual umask mode.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    try:
        yield temporary
        os.replace(temporary, path)
    except OSError as error:
        written = temporary.stat().st_size if temporary.is_file() else None
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        if isinstance(error, OutputWriteError):
            raise
        raise _write_error(error, path, expected_bytes or written,
                           exact=expected_bytes is not None) from error
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise


def _write_error(error: OSError, path: Path, needed_bytes: int | None,
                 exact: bool = False) -> OSError:
    """An :class:`OutputWriteError` for errors of the environment; other OSErrors unchanged."""
    if isinstance(error, OutputWriteError):
        return error
    if isinstance(error, IsADirectoryError):
        return OutputWriteError(path, "cannot be written: it is a folder",
                                "give a file name")
    if isinstance(error, (NotADirectoryError, FileExistsError)):
        return OutputWriteError(path, "cannot be written: a part of its path is a file, not a "
                                "folder", "give a path in a folder")
    known = os_error_message(error, path)
    if known is None:
        return error
    if is_space_error(error) and needed_bytes:
        free = free_bytes(path.parent)
        known = OutputWriteError(path, f"{known.problem}: it needs "
                                 f"{'' if exact else 'at least '}{format_bytes(needed_bytes)}"
                                 + (f", {format_bytes(free)} are free" if free is not None
                                    else ""), known.fix, needed_bytes=needed_bytes)
    return known


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` under ``path`` atomically, after checking the free space for it."""
    with atomic_path(path, expected_bytes=len(data)) as temporary:
        temporary.write_bytes(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(path, text.encode())
