"""MDComputeSqw: the dynamic structure factor S(q, w) from molecular dynamics trajectories.

Thin Mantid face of :func:`mantid_mdinsim.sqw.compute.compute_sqw`; the correlation functions,
q-points, scattering weights and their tests live in ``mantid_mdinsim/sqw``. Loaded by Mantid's
plugin loader as a top-level module, so every import is absolute.
"""

from pathlib import Path

from mantid.api import AlgorithmFactory, PythonAlgorithm

from mantid_mdinsim.mantid.algorithm_base import MDAlgorithm, user_errors_without_traceback
from mantid_mdinsim.sqw.compute import compute_sqw
from mantid_mdinsim.sqw.parameters import SQW_PARAMETERS, SqwSettings


class MDComputeSqw(MDAlgorithm, PythonAlgorithm):
    PARAMETERS = SQW_PARAMETERS
    SETTINGS = SqwSettings
    STEP = "MDComputeSqw"
    # Conditions come from the definitions (applies_when); this one holds in Mantid only,
    # where the output file is optional.
    ENABLED_WHEN = {"plot": ("output", None)}
    SEE_ALSO = ("MDRunGPUMD", "MDApplyInstrument")

    def summary(self):
        return ("Computes the dynamic structure factor S(|Q|,w) (coherent, incoherent and "
                "partials, weighted by neutron scattering lengths) from MD trajectories.")

    def PyInit(self):
        self.declare_parameters()
        self.declare_output("OutputWorkspace", "S(|Q|,w), the weighted total: energy transfer "
                            "(DeltaE, meV) on X, |Q| (MomentumTransfer, 1/Angstrom) vertical, a "
                            "distribution per meV with errors.", kind="MatrixWorkspace")
        self.declare_output("OutputPartials", "Group of the coherent and incoherent parts, "
                            "the partials and S(w) averaged over the q-points.",
                            kind="WorkspaceGroup", optional=True)
        self.declare_output("OutputQPoints", "Table of the q-points used (1/Angstrom).",
                            kind="TableWorkspace", optional=True)

    def validateInputs(self):
        return self.validate_parameters()

    @user_errors_without_traceback
    def PyExec(self):
        settings = self.settings()
        output_file = self.output_file("output")
        checkpoint = Path(output_file + ".checkpoint.npz") if output_file else None
        result = self.run_core(compute_sqw, settings, checkpoint=checkpoint)
        items = {item.name: item for item in result.workspaces()}
        self.set_output("OutputWorkspace", items.pop("sqw"), settings)
        qpoints = items.pop("qpoints")
        if self.getPropertyValue("OutputPartials"):
            self.set_output("OutputPartials", list(items.values()), settings)
        if self.getPropertyValue("OutputQPoints"):
            self.set_output("OutputQPoints", qpoints, settings)
        if output_file:
            for path in result.save(output_file, plot=settings.plot):
                self.log().notice(f"MDComputeSqw: wrote {path}")


AlgorithmFactory.subscribe(MDComputeSqw)
