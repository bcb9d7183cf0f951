"""Checks on paths made before any computation: output paths that can be written, free space,
and the identity of input files by their content.

A long computation that fails at its very end because the output is a folder, lies under a
file or in a read-only folder wastes the user's time: every step calls
:func:`check_output_file` / :func:`check_output_directory` on its outputs first.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import InputFileError, OutputWriteError, ParameterError, format_bytes
from ..parameters import Kind

#: Free space kept beyond what a file needs (file-system metadata, other writers).
SPACE_MARGIN_BYTES = 1 << 20


def _nearest_existing(path: Path) -> Path:
    """``path`` or its nearest existing ancestor."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")


def _check_creatable(path: Path, name: str, what: str) -> None:
    """Every existing ancestor of ``path`` must be a folder, and the nearest one writable."""
    existing = _nearest_existing(path.parent)
    if not existing.is_dir():
        raise ParameterError(name, f"{path}: {existing} is a file, so no {what} can be made "
                             "under it", f"give a path in a folder (not under {existing.name})")
    # A real probe rather than os.access: it also catches read-only file systems, pseudo file
    # systems (/proc) and root on a folder it may not write, all of which os.access misses.
    try:
        handle, probe = tempfile.mkstemp(prefix=".mdinsim-probe-", dir=existing)
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise ParameterError(name, f"{path}: the folder {existing} cannot be written "
                             f"({reason})", "give a path in a folder you may write to") from None
    os.close(handle)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def check_output_file(path: str | os.PathLike, name: str) -> Path:
    """Raise :class:`ParameterError` (naming parameter ``name``) unless ``path`` can be written
    as a file: not an existing folder, not under a file, in a writable folder."""
    given = os.fspath(path)
    path = Path(path).expanduser()
    if path.is_dir():
        raise ParameterError(name, f"{path} is a folder, not a file name",
                             f"give a file name, e.g. one inside {path}")
    if given.endswith(os.sep) or (os.altsep and given.endswith(os.altsep)):
        # checked on the string given: Path drops the separator, and 'new/' was written as
        # a file named 'new'
        raise ParameterError(name, f"{given} ends with '{os.sep}', a folder",
                             "give a file name")
    _check_creatable(path, name, "file")
    return path


def check_output_directory(path: str | os.PathLike, name: str) -> Path:
    """Raise :class:`ParameterError` unless ``path`` is, or can be made, a writable folder."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise ParameterError(name, f"{path} is a file, not a folder",
                             "give the name of a folder (it is created if absent)")
    _check_creatable(path / "probe", name, "folder")
    return path


def free_bytes(path: str | os.PathLike) -> int | None:
    """Free bytes on the file system of ``path`` (or of its nearest existing ancestor)."""
    try:
        return shutil.disk_usage(_nearest_existing(Path(path))).free
    except OSError:
        return None


def ensure_free_space(path: str | os.PathLike, needed_bytes: int) -> None:
    """Raise :class:`OutputWriteError` before writing ``needed_bytes`` to ``path`` where the
    disk has less free space (plus a small margin)."""
    free = free_bytes(path)
    if free is not None and free < needed_bytes + SPACE_MARGIN_BYTES:
        raise OutputWriteError(path, f"needs {format_bytes(needed_bytes)} but the disk has "
                               f"{format_bytes(free)} free", "free space or write to another "
                               "disk", needed_bytes=needed_bytes)


def is_space_error(error: OSError) -> bool:
    return error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def refuse_utf16_text(path: Path, head: bytes) -> None:
    """Raise :class:`InputFileError` where a text input starts with a UTF-16 byte-order mark
    (``head``: its first bytes), with the command that makes it UTF-8 (as Windows tools save
    "Unicode" text; read as UTF-8 it fails at its first line, which would not say why)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFileError(path, "is UTF-16 text", fix=f"save it as UTF-8 or ASCII text "
                             f"(iconv -f UTF-16 -t UTF-8 {path.name} > "
                             f"{path.stem}-utf8{path.suffix}) and give that file")


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's content (to recognise the same input under two names)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_output_paths(parameters, values) -> None:
    """Check every output of a step before it computes anything: each ``Kind.OUTPUT_FILE``
    parameter with a value is a writable file path, each ``Kind.DIRECTORY`` one a writable
    folder (the steps' folder parameters are all outputs). ``parameters`` is a
    :class:`~mantid_mdinsim.parameters.ParameterSet`, ``values`` its resolved values."""
    files: dict[Path, str] = {}
    for parameter in parameters:
        value = values.get(parameter.name)
        if value in (None, ""):
            continue
        if parameter.kind is Kind.OUTPUT_FILE:
            path = check_output_file(value, parameter.name)
            _check_suffix(parameter, path)
            _check_not_an_input(parameters, values, parameter.name, Path(value))
            same = files.get(path.resolve())
            if same is not None:
                raise ParameterError(parameter.name, f"{path} is also the output '{same}': one "
                                     "would replace the other", "give another file name")
            files[path.resolve()] = parameter.name
        elif parameter.kind is Kind.DIRECTORY:
            path = check_output_directory(value, parameter.name)
            files.setdefault(path.resolve(), parameter.name)
    for parameter in parameters:  # a file named as a folder the step makes (given after it)
        value = values.get(parameter.name)
        if parameter.kind is Kind.OUTPUT_FILE and value not in (None, ""):
            same = files.get(Path(value).expanduser().resolve())
            if same is not None and same != parameter.name:
                raise ParameterError(parameter.name, f"{value} is also the output '{same}': "
                                     "one would replace the other", "give another file name")


#: The picture formats matplotlib writes, by suffix (a plot file without a suffix is a PNG).
FIGURE_SUFFIXES = frozenset({"", ".png", ".pdf", ".svg", ".svgz", ".eps", ".ps", ".jpg",
                             ".jpeg", ".tif", ".tiff", ".webp", ".pgf"})


def _check_suffix(parameter, path: Path) -> None:
    """A NeXus output is not named as a picture: the step writes its PNG beside it as
    <name>.png, which replaced the result (sqw --output q.png left only the plot); a plot file
    has a suffix matplotlib writes (--plot out.nxs had ended in an internal error)."""
    suffix = path.suffix.lower()
    if ".nxs" in parameter.extensions and suffix in FIGURE_SUFFIXES - {""}:
        raise ParameterError(parameter.name, f"{path} is named as a picture: the plot written "
                             f"beside it ({path.with_suffix('.png').name}) would replace it",
                             f"give a name ending in .nxs, e.g. {path.with_suffix('.nxs').name}")
    if ".png" in parameter.extensions and suffix not in FIGURE_SUFFIXES:
        raise ParameterError(parameter.name, f"{path}: '{path.suffix}' is not a picture format",
                             "give a name ending in .png (or .pdf, .svg, .eps, .jpg, .tif)")


def _check_not_an_input(parameters, values, name: str, output: Path) -> None:
    """An output that is one of the step's input files would replace the input with the
    result (``sqw run.xyz --output run.xyz``): refused before anything is computed."""
    if not output.exists():
        return
    for parameter in parameters:
        if parameter.kind not in (Kind.INPUT_FILE, Kind.INPUT_FILES):
            continue
        given = values.get(parameter.name)
        for source in ([given] if isinstance(given, (str, os.PathLike)) else given or []):
            with contextlib.suppress(OSError):
                if os.path.samefile(source, output):
                    raise ParameterError(name, f"{output} is also the input "
                                         f"'{parameter.name}': writing it would replace the "
                                         "input with the result",
                                         "give another output file name")
