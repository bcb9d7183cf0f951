"""Writing files so that nothing half-written is ever left under the final name.

Every output of mdinsim goes through :func:`atomic_path`: the writer writes a temporary file in
the same folder (so the final rename is atomic on the same file system), and only a writer that
finished renames it into place. A failure or a cancel removes the temporary file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp-mdinsim",
                                         dir=path.parent)
    os.close(handle)
    temporary = Path(temporary)
    # mkstemp creates the file readable by its owner only; outputs get the usual umask mode.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(text)
