"""Checkpoints from which an interrupted CPU run resumes exactly.

A checkpoint is one ``checkpoint.npz`` in the run folder, replaced atomically (never half
written): the arrays of the state (positions, momenta, cell, the mean-squared-displacement
sums, integrator variables) and a JSON document with the rest (the step, the random
generator's state, the byte offsets of the partial trajectory and thermo files, timings).
Everything the next step depends on is in it, so a resumed run writes the same frames as an
uninterrupted one with the same seed.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputFileError
from ..io.atomic import atomic_path

CHECKPOINT_NAME = "checkpoint.npz"
_FORMAT = 1


def save_checkpoint(path: Path, arrays: dict[str, np.ndarray], metadata: dict[str, Any]) -> None:
    """Write the checkpoint atomically (the previous one stays until this one is complete)."""
    document = json.dumps({"format": _FORMAT, **metadata})
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, _metadata=np.frombuffer(document.encode(), dtype=np.uint8),
                     **{name: np.asarray(value) for name, value in arrays.items()})


def load_checkpoint(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and metadata of a checkpoint written by :func:`save_checkpoint`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files if name != "_metadata"}
            metadata = json.loads(bytes(data["_metadata"]).decode())
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        # A checkpoint cut short or damaged (BadZipFile escaped as a traceback).
        raise InputFileError(path, f"is not a readable checkpoint ({type(error).__name__}: "
                             f"{error})", fix="delete it to start the run again (the run "
                             "restarts from its beginning)") from None
    if metadata.get("format") != _FORMAT:
        raise InputFileError(path, f"has checkpoint format {metadata.get('format')}, this "
                             f"version writes {_FORMAT}", fix="delete it to start the run again")
    return arrays, metadata


def generator_state(rng: np.random.Generator) -> dict[str, Any]:
    """A numpy Generator's state as JSON-able data (restored exactly by
    :func:`restore_generator`)."""
    return _jsonable(rng.bit_generator.state)


def restore_generator(state: dict[str, Any]) -> np.random.Generator:
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.integer):
        return int(value)
    return value
