"""MDTrainNEP: a neuroevolution potential (NEP) from reference energies, forces and virials.

Thin Mantid face of :func:`mantid_mdinsim.train.train_nep`; the training backends (GPUMD's nep,
neppo on CPU), ensembles, active learning and their tests live in ``mantid_mdinsim/train``.
Loaded by Mantid's plugin loader as a top-level module, so every import is absolute.
"""

from mantid.api import AlgorithmFactory, PythonAlgorithm
from mantid.kernel import Direction, StringArrayProperty

from mantid_mdinsim.mantid.algorithm_base import MDAlgorithm, user_errors_without_traceback
from mantid_mdinsim.train import (NepHyperparameters, TRAIN_PARAMETERS, TrainSettings,
                                  train_nep)


def _check_model_settings(values):
    """The core's checks of settings that depend on each other (cutoffs, descriptor orders,
    fine-tuning files). The species only label the model here; the data are checked when the
    algorithm runs, so a large training set is not read in the dialog."""
    settings = TrainSettings.from_values(values)
    NepHyperparameters.from_parameters(settings, settings.species or ("H",),
                                       "neppo" if settings.backend == "neppo" else "gpumd")


class MDTrainNEP(MDAlgorithm, PythonAlgorithm):
    PARAMETERS = TRAIN_PARAMETERS
    STEP = "MDTrainNEP"
    SEE_ALSO = ("MDRunGPUMD",)

    def summary(self):
        return ("Trains a neuroevolution potential (NEP, with GPUMD's nep or neppo on CPU) "
                "from reference energies and forces, optionally an ensemble with active "
                "learning.")

    def PyInit(self):
        self.declare_parameters()
        self.declare_output("OutputWorkspace", "Metrics of every model: RMSE (meV/atom, "
                            "meV/Angstrom) and R^2 on the training, validation and test data.",
                            kind="TableWorkspace")
        self.declare_output("OutputLoss", "The loss curves.", kind="TableWorkspace",
                            optional=True)
        self.declare_output("OutputParity", "Predicted against reference values (parity "
                            "data).", kind="TableWorkspace", optional=True)
        self.declareProperty(name="ModelFile", defaultValue="", direction=Direction.Output,
                             doc="The trained full model (nep.txt), for MDRunGPUMD's NEPModel.")
        self.declareProperty(StringArrayProperty("EnsembleFiles", Direction.Output),
                             "The ensemble members' model files (empty for one model).")
        for name in ("ModelFile", "EnsembleFiles"):
            self.setPropertyGroup(name, "Output")

    def validateInputs(self):
        return self.validate_parameters(cross_check=_check_model_settings)

    @user_errors_without_traceback
    def PyExec(self):
        values = self.resolved_parameters()
        result = self.run_core(train_nep, TrainSettings.from_values(values))
        self.set_output("OutputWorkspace", result.metrics, values)
        if self.getPropertyValue("OutputLoss"):
            self.set_output("OutputLoss", result.loss, values)
        if self.getPropertyValue("OutputParity"):
            self.set_output("OutputParity", result.parity, values)
        self.set_value("ModelFile", str(result.model_path))
        self.set_value("EnsembleFiles", [str(path) for path in result.ensemble_paths])
        for note in result.notes:
            self.log().warning(f"MDTrainNEP: {note}")


AlgorithmFactory.subscribe(MDTrainNEP)
