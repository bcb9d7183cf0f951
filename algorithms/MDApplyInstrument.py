"""MDApplyInstrument: what a spectrometer would measure from a simulated S(|Q|, w).

Thin Mantid face of :func:`mantid_mdinsim.instrument.apply_instrument`; the physics and its
tests live in ``mantid_mdinsim/instrument``. Loaded by Mantid's plugin loader as a top-level
module, so every import is absolute.
"""

from dataclasses import replace

from mantid.api import AlgorithmFactory, MatrixWorkspaceProperty, PropertyMode, PythonAlgorithm
from mantid.kernel import Direction

from mantid_mdinsim.errors import InputFileError
from mantid_mdinsim.instrument import apply_instrument, load_sqw, sqw_grid_from_spectrum
from mantid_mdinsim.instrument.parameters import (CORE, INPUT_FILE, INSTRUMENT_PARAMETERS,
                                                  OUTPUTS, InstrumentSettings)
from mantid_mdinsim.mantid.algorithm_base import MDAlgorithm, user_errors_without_traceback
from mantid_mdinsim.mantid.properties import declare_parameter
from mantid_mdinsim.mantid.workspaces import workspace_to_spectrum

_OUTPUT_FILE = next(p for p in OUTPUTS if p.name == "output_file")
#: In Mantid the input is a workspace or, instead, a file: the file is optional here.
_INPUT_FILE = replace(INPUT_FILE, default=None, group="Input")


def _check_configuration(values):
    """The core's own checks of a configuration (instrument ranges, settings, choppers)."""
    InstrumentSettings.from_values(values).configure()


class MDApplyInstrument(MDAlgorithm, PythonAlgorithm):
    PARAMETERS = INSTRUMENT_PARAMETERS.subset([p.name for p in CORE] + ["plot_file"])
    SETTINGS = InstrumentSettings
    STEP = "MDApplyInstrument"
    SEE_ALSO = ("MDComputeSqw", "SofQW")

    def summary(self):
        return ("Applies an instrument (kinematic limits, resins resolution, quantum and other "
                "corrections) to a simulated S(|Q|,w), giving the spectrum it would measure.")

    def PyInit(self):
        self.declareProperty(MatrixWorkspaceProperty("InputWorkspace", "", Direction.Input,
                                                     PropertyMode.Optional),
                             doc="S(|Q|,w): energy transfer (DeltaE, meV) on X, |Q| "
                                 "(MomentumTransfer, 1/Angstrom) vertical, as MDComputeSqw or "
                                 "SofQW give it. Or give InputFile.")
        self.setPropertyGroup("InputWorkspace", "Input")
        declare_parameter(self, _INPUT_FILE)
        self.declare_parameters()
        self.declare_output("OutputWorkspace", "The instrument spectrum: 2D S(|Q|,w) as SofQW "
                            "gives it (direct geometry), or 1D S(w) in AbINS' layout "
                            "(indirect geometry).", kind="MatrixWorkspace")
        self.declare_output("OutputBanks", "Indirect geometry: one 1D spectrum per analyser "
                            "bank.", kind="WorkspaceGroup", optional=True)
        self.declare_output("OutputResolution", "Table of the Gaussian resolution width "
                            "(meV) at each output energy.", kind="TableWorkspace",
                            optional=True)
        declare_parameter(self, replace(_OUTPUT_FILE, default=None))

    def _input_spectrum(self):
        workspace = self.getProperty("InputWorkspace").value
        if workspace is not None:
            return workspace_to_spectrum(workspace)
        return load_sqw(self.getProperty(_INPUT_FILE.property_name).value)

    def validateInputs(self):
        issues = self.validate_parameters(cross_check=_check_configuration)
        has_workspace = bool(self.getPropertyValue("InputWorkspace"))
        has_file = bool(self.getPropertyValue(_INPUT_FILE.property_name))
        if has_workspace == has_file:
            issues["InputWorkspace"] = ("give either an input workspace or an input file "
                                        "holding S(|Q|,w), not " +
                                        ("both" if has_workspace else "neither"))
        elif has_workspace:
            workspace = self.getProperty("InputWorkspace").value
            try:
                sqw_grid_from_spectrum(workspace_to_spectrum(workspace),
                                       source=f"workspace {workspace.name()}")
            except (InputFileError, ValueError) as error:
                issues["InputWorkspace"] = str(error)
        return issues

    @user_errors_without_traceback
    def PyExec(self):
        settings = self.settings()
        plot_file = self.output_file("plot_file")
        sqw = self._input_spectrum()
        result = self.run_core(apply_instrument, sqw, settings)
        self.set_output("OutputWorkspace", result.spectrum, settings)
        if result.banks and self.getPropertyValue("OutputBanks"):
            self.set_output("OutputBanks", list(result.banks.values()), settings)
        if result.resolution is not None and self.getPropertyValue("OutputResolution"):
            self.set_output("OutputResolution", result.resolution, settings)
        output_file = self.getProperty("OutputFile").value
        if output_file:
            self.log().notice(f"MDApplyInstrument: wrote {result.save(output_file)}")
        if plot_file:
            self.log().notice(f"MDApplyInstrument: wrote {result.save_plot(plot_file)}")


AlgorithmFactory.subscribe(MDApplyInstrument)
