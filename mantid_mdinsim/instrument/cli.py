"""``mdinsim instrument INPUT.nxs --instrument NAME [--ei MEV] [--temperature K] ... --output F``.

Reads S(|Q|, w) from a processed NeXus file (mdinsim sqw's output or any file in that layout,
Mantid's SofQW output included), applies the instrument (kinematics, resolution, corrections)
and writes the result as processed NeXus plus a PNG. Options come from
:data:`~mantid_mdinsim.instrument.parameters.INSTRUMENT_PARAMETERS`.
"""

from __future__ import annotations

from pathlib import Path

from ..progress import ProgressReporter
from ..step_cli import StepCLI
from .parameters import INSTRUMENT_PARAMETERS, InstrumentSettings

EXAMPLES = ("Examples: mdinsim instrument sqw.nxs --instrument TOSCA --temperature 10 --output "
            "tosca.nxs; mdinsim instrument sqw.nxs --instrument ARCS --ei 100 --temperature 300 "
            "--output arcs.nxs. 'mdinsim instruments' lists the instruments, their settings and "
            "valid ranges.")


def _compute(settings: InstrumentSettings, progress: ProgressReporter):
    """The instrument applied to the input file and written (NeXus, PNG); returns the result
    and the two files."""
    from .apply import apply_instrument, load_sqw  # the core's libraries load only when it runs

    output = Path(settings.output_file)
    plot = Path(settings.plot_file) if settings.plot_file else output.with_suffix(".png")
    sqw = load_sqw(settings.input_file)
    progress.report(0.1, "input read")
    result = apply_instrument(sqw, settings, progress.sub(0.1, 0.9), source=settings.input_file)
    result.save(output)
    result.save_plot(plot)
    progress.report(1.0, "written")
    return result, output, plot


def _report(outcome) -> None:
    result, output, plot = outcome
    run_settings = result.run
    what = [f"instrument {run_settings.instrument.name} ({run_settings.instrument.geometry})"]
    if run_settings.setting:
        what.append(f"setting {run_settings.setting}")
    if run_settings.incident_energy_mev is not None:
        what.append(f"Ei {run_settings.incident_energy_mev:g} meV")
    print(", ".join(what))
    print(f"resolution: {result.spectrum.logs['resolution_model_used']}")
    print(f"output: {output} ({', '.join(w.name for w in result.workspaces())})")
    print(f"plot: {plot}")


COMMAND = StepCLI("instrument", INSTRUMENT_PARAMETERS, settings_type=InstrumentSettings,
                  compute=_compute, report=_report, epilog=EXAMPLES)
add_arguments = COMMAND.add_arguments
run = COMMAND.run
