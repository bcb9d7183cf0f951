"""``mdinsim train TRAINSET... --output-dir DIR [options]``: train a NEP model (and ensemble).

Options come from :data:`~mantid_mdinsim.train.parameters.TRAIN_PARAMETERS`; the run writes the
model(s), metrics.csv, parity.csv, loss.csv and plots into the output folder and prints the
metrics table. Started again with the same folder, it skips the models already trained.
"""

from __future__ import annotations

import argparse
import math
import sys

from ..progress import terminal_progress
from ..step_cli import StepCLI
from .parameters import TRAIN_PARAMETERS, TrainSettings

COMMAND = StepCLI("train", TRAIN_PARAMETERS, epilog=(
    "Example: mdinsim train train.xyz --test-set test.xyz --output-dir model --ensemble-size 4 "
    "--backend neppo --generations 3000"))
add_arguments = COMMAND.add_arguments


def _format(value) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def format_metrics(table) -> str:
    """The metrics table as aligned text."""
    names = list(table.columns)
    rows = [[_format(v.item() if hasattr(v, "item") else v) for v in values]
            for values in zip(*(table.columns[name] for name in names))]
    headers = [name.replace("_mev_per_angstrom", " (meV/A)").replace("_mev_per_atom",
                                                                      " (meV/atom)")
               for name in names]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from .core import train_nep  # the core's libraries load only when it runs

    settings = TrainSettings.from_values(COMMAND.settings(args))
    with terminal_progress("mdinsim train") as progress:
        result = train_nep(settings, progress)
    print(format_metrics(result.metrics))
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"backend: {result.backend}")
    print(f"model: {result.model_path}")
    if result.ensemble_paths:
        print("ensemble: " + " ".join(str(p) for p in result.ensemble_paths))
    print(f"metrics: {result.files['metrics']}")
    return 0
