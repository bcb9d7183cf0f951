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

from .active_learning import (MDSampler, label_structures, langevin_sampler,
                              load_reference_calculator, select_uncertain)
from .core import TrainResult, train_nep, train_nep_from_structures
from .dataset import Dataset, load_dataset
from .ensemble import (Ensemble, force_standard_deviation_per_atom, force_uncertainty,
                       read_active_out, read_observer_predictions)
from .hyperparameters import NepHyperparameters, read_model_header
from .metrics import Predictions, r_squared, read_loss_curve, read_run_predictions, rmse
from .parameters import TRAIN_PARAMETERS, TrainSettings

__all__ = [
    "TRAIN_PARAMETERS", "TrainSettings", "train_nep", "train_nep_from_structures", "TrainResult",
    "Ensemble", "force_uncertainty", "force_standard_deviation_per_atom",
    "read_observer_predictions", "read_active_out",
    "select_uncertain", "label_structures", "load_reference_calculator", "langevin_sampler",
    "MDSampler", "Dataset", "load_dataset", "NepHyperparameters", "read_model_header",
    "Predictions", "rmse", "r_squared", "read_loss_curve", "read_run_predictions",
]
