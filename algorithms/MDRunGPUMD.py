"""MDRunGPUMD: molecular dynamics with a NEP model (GPUMD on a GPU, or ASE + CPUNEP on CPU).

Thin Mantid face of :func:`mantid_mdinsim.md.core.run_md`; the protocol, the backends and their
tests live in ``mantid_mdinsim/md``. Loaded by Mantid's plugin loader as a top-level module, so
every import is absolute.
"""

from mantid.api import AlgorithmFactory, PythonAlgorithm
from mantid.kernel import Direction, StringArrayProperty

from mantid_mdinsim.md.core import run_md
from mantid_mdinsim.md.parameters import MD_PARAMETERS, MDSettings
from mantid_mdinsim.mantid.algorithm_base import MDAlgorithm, user_errors_without_traceback


class MDRunGPUMD(MDAlgorithm, PythonAlgorithm):
    PARAMETERS = MD_PARAMETERS
    STEP = "MDRunGPUMD"
    SEE_ALSO = ("MDTrainNEP", "MDComputeSqw")

    def summary(self):
        return ("Runs molecular dynamics with a NEP model (GPUMD, or ASE with calorine on CPU): "
                "equilibration, then production runs whose trajectories feed MDComputeSqw.")

    def PyInit(self):
        self.declare_parameters()
        self.declare_output("OutputWorkspace", "Thermodynamics of every run (time, "
                            "temperature, pressure, energies, volume), one row per thermo "
                            "interval.", kind="TableWorkspace")
        self.declare_output("OutputRunsTable", "One row per run: target temperature, "
                            "trajectory file, mean-squared displacement, means and energy "
                            "drift.", kind="TableWorkspace", optional=True)
        self.declareProperty(StringArrayProperty("Trajectories", Direction.Output),
                             "The trajectory files written (extended XYZ), for MDComputeSqw's "
                             "InputTrajectories.")
        self.setPropertyGroup("Trajectories", "Output")

    def validateInputs(self):
        return self.validate_parameters()

    @user_errors_without_traceback
    def PyExec(self):
        values = self.resolved_parameters()
        result = self.run_core(run_md, MDSettings.from_values(values))
        tables = {table.name: table for table in result.workspaces()}
        self.set_output("OutputWorkspace", tables["md_thermo"], values)
        if self.getPropertyValue("OutputRunsTable"):
            self.set_output("OutputRunsTable", tables["md_runs"], values)
        self.set_value("Trajectories", [str(path) for path in result.trajectory_paths])
        for note in result.warnings:
            self.log().warning(f"MDRunGPUMD: {note}")


AlgorithmFactory.subscribe(MDRunGPUMD)
