"""``mdinsim instruments [NAME] [--json]``: the instruments, their settings and valid ranges.

Ranges (incident energy, chopper frequencies per chopper package) come from resins, the same
numbers ``mdinsim instrument`` validates against; geometry comes from ``instrument_params``.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", default=None,
                        help="show one instrument in full (any case; aliases such as Lagrange)")
    parser.add_argument("--json", action="store_true",
                        help="print machine-readable JSON instead of text")


def _number(value: float) -> str:
    return "inf" if value == math.inf else "-inf" if value == -math.inf else f"{value:g}"


def _range(pair: list[float], unit: str) -> str:
    return f"{_number(pair[0])} to {_number(pair[1])} {unit}"


def _allowed(values: Any) -> str:
    if values is None:
        return "any"
    if len(values) > 6:
        step = values[1] - values[0]
        if all(b - a == step for a, b in zip(values, values[1:])):
            return f"{values[0]} to {values[-1]} in steps of {step}"
    return ", ".join(str(v) for v in values)


def format_instrument(info: dict[str, Any], full: bool) -> str:
    """One instrument as text: a summary line, and with ``full`` every setting and source."""
    lines = [f"{info['name']}  ({info['geometry']} geometry, {info['facility']})"
             f"  {info['description']}"]
    if info["aliases"]:
        lines.append(f"  aliases: {', '.join(info['aliases'])}")
    if info["geometry"] == "direct":
        ranges = ", ".join(_range(r, "deg") for r in info["detector_two_theta_ranges_deg"])
        lines.append(f"  detectors 2theta: {ranges}")
        lines.append(f"  default Ei: {info['default_incident_energy_mev']:g} meV")
    else:
        for name, bank in info["banks"].items():
            lines.append(f"  bank {name}: 2theta {bank['two_theta_deg']:g} deg, "
                         f"Ef {bank['final_energy_mev']:g} meV, weight {bank['weight']:g}")
    settings = info["per_setting"]
    if settings:
        label = "chopper package" if info["geometry"] == "direct" else "setting"
        shown = settings if full else {info["default_setting"] or "": settings.get(
            info["default_setting"] or "", next(iter(settings.values())))}
        if not full and len(settings) > 1:
            lines.append(f"  {label}s: {', '.join(settings)} (default {info['default_setting']})")
        for name, entry in shown.items():
            head = f"  {label} {name}" if name else "  settings"
            parts = []
            if "incident_energy_range_mev" in entry:
                parts.append(f"Ei {_range(entry['incident_energy_range_mev'], 'meV')}")
            if "energy_transfer_range_mev" in entry:
                parts.append(f"w {_range(entry['energy_transfer_range_mev'], 'meV')}")
            if "banks" in entry:
                parts.append(f"banks {', '.join(entry['banks'])}")
            for key, value in entry.items():
                if key.endswith("_hz"):
                    flag = "--" + key.removesuffix("_hz").replace("_", "-")
                    parts.append(f"{flag} {_allowed(value['allowed'])} Hz "
                                 f"(default {value['default']})")
            lines.append(f"{head}: " + "; ".join(parts))
    lines.append(f"  resolution: {info['resolution_at_defaults']}")
    if full:
        lines.append(f"  resolution models: {', '.join(info['resolution_models'])} (default "
                     f"{info['default_resolution_model']})")
        for problem in info["known_problems"]:
            lines.append(f"  known problem: {problem}")
        lines.append(f"  parameter file: {info['parameter_file']}")
        for source in info["sources"]:
            lines.append(f"  source: {source}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    # The registry reads every instrument file (and resins, scipy): only when the command runs.
    from .registry import describe_instrument, get_instrument, list_instruments

    instruments = [get_instrument(args.name)] if args.name else list_instruments()
    infos = [describe_instrument(instrument) for instrument in instruments]
    if args.json:
        print(json.dumps(infos if not args.name else infos[0], indent=2))
        return 0
    print("\n\n".join(format_instrument(info, full=bool(args.name)) for info in infos))
    if not args.name:
        print("\n'mdinsim instruments NAME' shows every setting, the resolution models and the "
              "sources.")
    return 0
