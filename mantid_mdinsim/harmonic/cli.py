"""``mdinsim harmonic STRUCTURE --model NEP.txt [--temperature K] [--instrument NAME] ...``.

The harmonic (AbINS-style) comparison: phonons of the NEP model by finite displacements, the
incoherent powder S(|Q|, w) with quantum orders, optionally through an instrument, written as
processed NeXus (plus the phonopy force constants and a PNG). Options come from
:data:`~mantid_mdinsim.harmonic.parameters.HARMONIC_PARAMETERS`.
"""

from __future__ import annotations

from ..progress import ProgressReporter
from ..step_cli import StepCLI
from .parameters import HARMONIC_PARAMETERS, HarmonicSettings


def _compute(settings: HarmonicSettings, progress: ProgressReporter):
    """Phonons, spectra (and instrument) computed and written; returns the result and the
    files written."""
    from .core import compute_harmonic  # the core's libraries load only when it runs

    result = compute_harmonic(settings, progress.sub(0.0, 0.95))
    written = result.save(settings.output, plot=settings.plot)
    progress.report(1.0, "written")
    return result, written


def _report(outcome) -> None:
    result, written = outcome
    modes = result.modes
    energies = modes.frequencies.to("meV").magnitude
    print(f"phonons: {modes.qpts.shape[0]} q-points, {energies.shape[1]} branches, "
          f"highest {energies.max():.2f} meV")
    if result.phonons is not None:
        print(f"force constants: supercell {result.phonons.supercell.diagonal().tolist()}, "
              f"largest residual force {result.phonons.max_force_ev_per_angstrom:.2e} eV/A")
    for path in written:
        print(f"written: {path}")


EXAMPLES = ("Examples: mdinsim harmonic Si.cif --model Si_nep.txt --relax cell --temperature 300 "
            "--cross-section total --output si_harmonic.nxs; mdinsim harmonic benzene.cif "
            "--model CH_nep.txt --temperature 10 --instrument TOSCA --output "
            "benzene_harmonic.nxs; mdinsim harmonic benzene_harmonic_phonopy.yaml --instrument "
            "TOSCA (reuses the force constants).")

COMMAND = StepCLI("harmonic", HARMONIC_PARAMETERS, settings_type=HarmonicSettings,
                  compute=_compute, report=_report, epilog=EXAMPLES)
add_arguments = COMMAND.add_arguments
run = COMMAND.run
