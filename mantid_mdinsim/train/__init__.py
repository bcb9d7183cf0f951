"""MDTrainNEP: neuroevolution potentials (NEP) from reference energies, forces and virials.

The public surface:

* :data:`TRAIN_PARAMETERS`: the parameters (CLI options, Mantid properties).
* :func:`train_nep` ``(parameters, progress) -> TrainResult``: train the full model and an
  ensemble (GPUMD's ``nep`` on a GPU, or neppo on CPU), with active learning if asked; writes
  the model files, metrics, parity data and loss curves; ``TrainResult.workspaces()`` gives the
  tables for Mantid.
* :func:`train_nep_from_structures`: the same from in-memory ASE structures (scripts).
* :class:`Ensemble`, :func:`force_uncertainty`, :func:`read_observer_predictions`: ensemble
  predictions and GPUMD's force uncertainty sigma_f.
* :func:`select_uncertain`, :func:`label_structures`, :func:`load_reference_calculator`,
  :func:`langevin_sampler`: the parts of active learning.
* :func:`load_dataset`, :func:`read_run_predictions`, :func:`read_loss_curve`, :func:`rmse`,
  :func:`r_squared`: data and metrics.

Units: meV/atom and meV/Angstrom in tables and thresholds; eV and Angstrom in ASE objects and
NEP files, as ASE and GPUMD use them.
"""

from ..lazy import lazy_attributes
from .parameters import TRAIN_PARAMETERS, TrainSettings

# the cores load ASE, SciPy, calorine...: only when used, not for --help
__getattr__ = lazy_attributes(__name__, {
    "MDSampler": ".active_learning", "label_structures": ".active_learning",
    "langevin_sampler": ".active_learning", "load_reference_calculator": ".active_learning",
    "select_uncertain": ".active_learning", "TrainResult": ".fitting", "train_nep": ".core",
    "train_nep_from_structures": ".core", "Dataset": ".dataset", "load_dataset": ".dataset",
    "Ensemble": ".ensemble", "force_standard_deviation_per_atom": ".ensemble",
    "force_uncertainty": ".ensemble", "read_active_out": ".ensemble",
    "read_observer_predictions": ".ensemble", "NepHyperparameters": ".hyperparameters",
    "read_model_header": ".hyperparameters", "Predictions": ".metrics", "r_squared": ".metrics",
    "read_loss_curve": ".metrics", "read_run_predictions": ".metrics", "rmse": ".metrics",
})

__all__ = [
    "TRAIN_PARAMETERS", "TrainSettings", "train_nep", "train_nep_from_structures", "TrainResult",
    "Ensemble", "force_uncertainty", "force_standard_deviation_per_atom",
    "read_observer_predictions", "read_active_out",
    "select_uncertain", "label_structures", "load_reference_calculator", "langevin_sampler",
    "MDSampler", "Dataset", "load_dataset", "NepHyperparameters", "read_model_header",
    "Predictions", "rmse", "r_squared", "read_loss_curve", "read_run_predictions",
]
