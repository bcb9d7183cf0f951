"""Small helpers shared by the example scripts (finding models, timing, folders).

The examples read published NEP models from ``../shared/data/nep`` beside the repository (or
``$MDINSIM_SHARED/data/nep``) where one fits the system; where that folder is absent they stop
with a message saying what to give instead. The demo silicon model ships with mdinsim.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]


def shared_model(name: str, alternative: str) -> Path:
    """The published NEP model ``name`` in the shared data, or exit with a clear message.

    ``alternative`` tells the user what to pass instead (an option of the example).
    """
    candidates = [Path(os.environ["MDINSIM_SHARED"]) / "data" / "nep" / name
                  ] if os.environ.get("MDINSIM_SHARED") else []
    candidates.append(REPOSITORY.parent / "shared" / "data" / "nep" / name)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    sys.exit(f"this example uses the published NEP model {name} from the shared reference "
             f"data, which is not on this machine (looked in: "
             f"{', '.join(str(c.parent) for c in candidates)}). Set MDINSIM_SHARED to the folder "
             f"holding data/nep/{name}, or {alternative}.")


@contextmanager
def timed(label: str):
    """Print how long the block took (wall time)."""
    started = time.monotonic()
    yield
    print(f"{label}: {time.monotonic() - started:.0f} s", flush=True)


def progress(description: str):
    """A terminal progress bar (tqdm) for the core functions, as the CLI shows it."""
    from mantid_mdinsim.progress import terminal_progress

    return terminal_progress(description)


def normalised_above(energy, values, threshold_mev: float):
    """``values`` scaled to unit area above ``threshold_mev`` (meV; NaN-safe): how the
    examples put curves of different origin on one scale (the paper scaled each spectrum to
    the experiment above 50 meV)."""
    energy, values = np.asarray(energy, dtype=float), np.asarray(values, dtype=float)
    above = (energy > threshold_mev) & np.isfinite(values)
    area = np.trapezoid(values[above], energy[above])
    return values / area if area > 0 else values
