"""The parameters of MDTrainNEP / ``mdinsim train``: one definition each (see ``parameters.py``).

The NEP hyper-parameters and their defaults follow GPUMD's ``nep`` executable (its documented
keywords in ``doc/nep/input_parameters`` and the defaults of ``Parameters::set_default_parameters``
in ``src/main_nep/parameters.cu``): cutoffs 8 / 4 Angstrom, ``n_max`` 6 6, ``basis_size`` 6 6,
``l_max`` 4 2 0, 30 neurons, ``lambda_e`` 1, ``lambda_f`` 1, ``lambda_v`` 0.1, automatic
regularisation, population 50. Four defaults depend on the backend: GPUMD's ``nep`` keeps its
own, and neppo's are sized for a CPU of a few cores, so that 3000 steps on about 100 cells of
64 atoms take about 3 CPU minutes on one core (``benchmarks/bench_train_time_to_accuracy.py``:
63-77 CPU ms per step with start-up and evaluation; on frames of 300/600 K MD, as active
learning samples them, held-out 0.27 meV/atom and 15 meV/Angstrom, under 70 meV/Angstrom from
step 100 on; on independently rattled cells 1.3 meV/atom and 238 meV/Angstrom, a plateau set by
the kink of Tersoff's cutoff function that those cells sample, see the benchmark):

* ``threads``: neppo 1. A step works on tensors of a few hundred atoms and tens of neighbours,
  too small for PyTorch's OpenMP threads to pay: on two shared cores, two threads cost 684 CPU
  ms per step (1.9 s wall, the threads spinning at barriers while the other core is busy)
  against 48 CPU ms with one, and even with passive waits 72 CPU ms. One thread also leaves
  the other core to the user. (GPUMD's ``nep`` runs on the GPU; the setting does not apply.)
* ``generations``: GPUMD 100000 SNES generations (its default); neppo 3000 AdamW steps (about
  2.5 CPU minutes at 50 ms each; the cosine learning rate decays over them), ended earlier
  when the validation loss stops improving (``early_stopping_patience`` 10 rows of
  ``output_interval`` 100 steps: a report evaluates every training and test structure, about
  the cost of 7 steps for 120 cells, so reports every 100 steps cost about 7 %);
* ``batch_size``: GPUMD 1000 (its default); neppo 8: a step's cost grows with the batch (29,
  48, 92 CPU ms for 4, 8, 16 cells of 64 atoms), so small batches give more steps per CPU
  second (issue 18 reports 0.78 meV/atom and 67 meV/Angstrom with 8 and 3000 steps on its
  data; on the benchmark's Tersoff silicon we measure 1.3 and 238, see above), and smaller
  batches, noisier gradients, were not tried for accuracy;
* ``radial_cutoff_angstrom``: GPUMD 8 (its default); neppo 5, which holds the first three
  neighbour shells of most solids and makes each step several times cheaper than 8 (the
  neighbour count grows with the cube of the cutoff). Give 6-8 for molecular crystals, whose
  intermolecular contacts lie beyond 5 Angstrom.

The descriptor keeps GPUMD's ``n_max`` and ``basis_size`` 6 6 on both backends: 4 4 saves only
about 10 % of a neppo step (43 against 48 CPU ms), for fewer descriptor components.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import steps
from ..execution import SCHEDULER_PARAMETERS
from ..parameters import Kind, Parameter, ParameterSet, StepSettings, when

GROUP_DATA = "Data"
GROUP_MODEL = "NEP model"
GROUP_TRAINING = "Training"
GROUP_ENSEMBLE = "Ensemble"
GROUP_ACTIVE = "Active learning"

#: Backend-dependent defaults (see the module docstring).
DEFAULT_GENERATIONS = {"gpumd": 100000, "neppo": 3000}
DEFAULT_BATCH_SIZE = {"gpumd": 1000, "neppo": 8}
DEFAULT_RADIAL_CUTOFF_ANGSTROM = {"gpumd": 8.0, "neppo": 5.0}

XYZ_EXTENSIONS = (".xyz", ".extxyz", ".db")


def _radial_and_angular(keyword: str, doc: str, maxima: tuple[int, int]
                        ) -> tuple[Parameter, Parameter]:
    """GPUMD's two-valued ``keyword`` (radial, angular) as two integer parameters, default 6;
    ``doc`` has a ``{}`` for the word radial or angular."""
    return tuple(  # type: ignore[return-value]
        Parameter(f"{keyword}_{part}", int,
                  doc.format(part).capitalize() + f" (GPUMD's {keyword}, {order} value)",
                  default=6, minimum=0, maximum=maximum, group=GROUP_MODEL)
        for part, order, maximum in zip(("radial", "angular"), ("first", "second"), maxima))

TRAIN_PARAMETERS = ParameterSet(steps.TRAIN, (
    # -- data -----------------------------------------------------------------------------------
    Parameter("training_set", str,
              "Training structures with reference energies and forces (and optionally virials "
              "or stresses): extended XYZ as written by ASE or GPUMD's train.xyz, or ASE "
              "databases (.db). Several files are concatenated",
              kind=Kind.INPUT_FILES, cli_positional=True, group=GROUP_DATA,
              extensions=XYZ_EXTENSIONS),
    Parameter("test_set", str,
              "Optional test structures in the same formats, never used for fitting; "
              "the metrics table reports every model on them",
              default=None, kind=Kind.INPUT_FILES, group=GROUP_DATA, extensions=XYZ_EXTENSIONS),
    Parameter("output_directory", str,
              "Folder for the training runs (one sub-folder per model, GPUMD's layout), the "
              "model files, metrics, parity data and plots. A run that stopped resumes from it",
              kind=Kind.DIRECTORY, flag="--output-dir", group=GROUP_DATA),
    Parameter("metrics_file", str,
              "CSV file for the table of RMSE and R^2 (default: metrics.csv in the output "
              "folder)", default=None, kind=Kind.OUTPUT_FILE, group=GROUP_DATA,
              extensions=(".csv",)),
    Parameter("species", str,
              "Chemical species of the model, in the order of the model file (default: those of "
              "the training set, by atomic number). Must cover every species of the data",
              default=None, multiple=True, group=GROUP_DATA),
    # -- model --------------------------------------------------------------------------------
    Parameter("version", int,
              "NEP version: 4 (default), or 3 (only with GPUMD's nep before version 5.3; "
              "neppo and calorine's CPUNEP handle NEP4 only)",
              default=4, minimum=3, maximum=4, flag="--nep-version", mantid_name="NEPVersion",
              group=GROUP_MODEL),
    Parameter("radial_cutoff_angstrom", float, "Radial descriptor cutoff (default: 8 for "
              "gpumd, GPUMD's default; 5 for neppo, sized for a CPU)",
              unit="Angstrom", default=None, minimum=3.0, maximum=10.0, group=GROUP_MODEL,
              flag="--radial-cutoff"),
    Parameter("angular_cutoff_angstrom", float,
              "Angular descriptor cutoff; at most the radial cutoff",
              unit="Angstrom", default=4.0, minimum=3.0, maximum=10.0, group=GROUP_MODEL,
              flag="--angular-cutoff"),
    *_radial_and_angular("n_max", "Number of {} descriptor components minus one", (12, 8)),
    *_radial_and_angular("basis_size", "{} basis functions minus one", (8, 8)),
    Parameter("l_max_3body", int, "Largest l of the three-body descriptors (GPUMD's l_max)",
              default=4, minimum=2, maximum=8, group=GROUP_MODEL),
    Parameter("l_max_4body", int, "2 to include the four-body descriptors (q_222), 0 not to",
              default=2, minimum=0, maximum=2, group=GROUP_MODEL),
    Parameter("l_max_5body", int, "1 to include the five-body descriptors (q_1111; GPUMD "
              "discourages them), 0 not to", default=0, minimum=0, maximum=1,
              group=GROUP_MODEL),
    Parameter("neurons", int, "Neurons of the hidden layer", default=30, minimum=1,
              maximum=120, group=GROUP_MODEL),
    Parameter("zbl_cutoff_angstrom", float,
              "Outer cutoff of the universal ZBL repulsion at short distances (GPUMD's zbl); "
              "none by default", unit="Angstrom", default=None, minimum=1.0, maximum=3.0,
              group=GROUP_MODEL, flag="--zbl-cutoff"),
    Parameter("fine_tune_model", str,
              "Foundation model file (e.g. NEP89's nep89_20250409.txt) to fine-tune from with "
              "GPUMD's fine_tune keyword; its architecture replaces the model settings above. "
              "GPUMD only", default=None, kind=Kind.INPUT_FILE, group=GROUP_MODEL,
              extensions=(".txt",)),
    Parameter("fine_tune_restart", str,
              "The foundation model's nep.restart file (e.g. nep89_20250409.restart), "
              "needed with fine_tune_model", default=None, kind=Kind.INPUT_FILE,
              group=GROUP_MODEL, extensions=(".restart",)),
    # -- training -----------------------------------------------------------------------------
    Parameter("backend", str,
              "Trainer: gpumd (GPUMD's nep executable, on a GPU), neppo (PyTorch, on CPU), or "
              "auto: gpumd where a nep executable is found, neppo otherwise",
              default="auto", choices=("auto", "gpumd", "neppo"), group=GROUP_TRAINING),
    Parameter("nep_executable", str,
              "GPUMD's nep executable (default: $MDINSIM_NEP, then PATH)",
              default=None, group=GROUP_TRAINING),
    Parameter("generations", int,
              "SNES generations (gpumd; default 100000) or AdamW steps (neppo; default 3000, "
              "fewer where early stopping ends a model)",
              default=None, minimum=1, maximum=10_000_000, group=GROUP_TRAINING),
    Parameter("batch_size", int,
              "Structures per batch (default: 1000 for gpumd, 8 for neppo)",
              default=None, minimum=1, group=GROUP_TRAINING),
    Parameter("population", int, "SNES population size (gpumd only)", default=50,
              minimum=10, maximum=100, group=GROUP_TRAINING),
    Parameter("lambda_energy", float, "Weight of the energy RMSE in the loss (lambda_e)",
              default=1.0, minimum=0.0, group=GROUP_TRAINING),
    Parameter("lambda_force", float, "Weight of the force RMSE in the loss (lambda_f)",
              default=1.0, minimum=0.0, group=GROUP_TRAINING),
    Parameter("lambda_virial", float, "Weight of the virial RMSE in the loss (lambda_v)",
              default=0.1, minimum=0.0, group=GROUP_TRAINING),
    Parameter("lambda_1", float, "Weight of the L1 regularisation (default: GPUMD's "
              "automatic value; none with neppo)", default=None, minimum=0.0,
              group=GROUP_TRAINING),
    Parameter("lambda_2", float, "Weight of the L2 regularisation (default: GPUMD's "
              "automatic value; none with neppo)", default=None, minimum=0.0,
              group=GROUP_TRAINING),
    Parameter("lambda_force_out_of_plane", float,
              "neppo: weight of an extra force term, the error of each atom's force along the "
              "normal of its aromatic ring (C rings with their H; train/neppo_out_of_plane.py), "
              "on the scale of lambda_force per component; for the out-of-plane bending modes "
              "of planar molecules, a small part of the usual force loss. 0: none",
              default=0.0, minimum=0.0, group=GROUP_TRAINING),
    Parameter("output_interval", int, "Generations (or steps) between rows of the loss curve",
              unit="generations", default=100, minimum=1, group=GROUP_TRAINING),
    Parameter("seed", int, "Seed of the train/validation splits, of neppo's initial parameters "
              "and batches, and of the active-learning MD. GPUMD's nep seeds itself from the "
              "clock, so only neppo runs repeat exactly", default=42, minimum=0,
              group=GROUP_TRAINING),
    Parameter("early_stopping_patience", int,
              "neppo: end a model when its validation loss (the training loss where it has no "
              "validation or test structures) has not improved for this many rows of the loss "
              "curve (output_interval steps each), keeping the best model; 0 runs every step. "
              "GPUMD's nep runs its generations", default=10, minimum=0, group=GROUP_TRAINING),
    Parameter("time_budget_minutes", float,
              "neppo: wall time for training all models; each model gets an equal share of what "
              "is left, checked after every step; at its limit the model is evaluated once "
              "more and the best model so far is kept. None: no limit",
              unit="min", default=None, minimum=0.0, exclusive_minimum=True,
              group=GROUP_TRAINING),
    Parameter("threads", int, "CPU threads of each neppo training (default 1, fastest for "
              "NEP-sized tensors, see the module docstring; 0: PyTorch's default, one per "
              "core)", default=1, minimum=0, group=GROUP_TRAINING),
    # -- ensemble -----------------------------------------------------------------------------
    Parameter("ensemble_size", int,
              "Number of models trained on random train/validation splits, whose spread in "
              "predicted forces is the uncertainty; 1 trains the full model only. The full "
              "model (all training structures) is always trained and is the model to use",
              default=1, minimum=1, maximum=64, group=GROUP_ENSEMBLE),
    Parameter("validation_fraction", float,
              "Fraction of the training structures each ensemble model leaves out for "
              "validation (split_mode bagging)", default=0.1, minimum=0.0, maximum=0.9,
              exclusive_minimum=True, group=GROUP_ENSEMBLE),
    Parameter("split_mode", str,
              "How the ensemble splits are drawn: bagging (independent random splits) or "
              "kfold (the validation sets partition the data)",
              default="bagging", choices=("bagging", "kfold"), group=GROUP_ENSEMBLE),
    # -- active learning ------------------------------------------------------------------------
    Parameter("active_learning_generations", int,
              "Rounds of: MD with the ensemble, selection of uncertain structures, labelling "
              "with the reference calculator, retraining. 0 trains once", default=0, minimum=0,
              group=GROUP_ACTIVE),
    Parameter("reference_calculator", str,
              "ASE calculator that labels new structures, as an import path: a class or a "
              "function returning a calculator (e.g. tblite.ase:TBLite, "
              "ase.calculators.tersoff:Tersoff.from_lammps)", default=None, group=GROUP_ACTIVE),
    Parameter("reference_calculator_arguments", str,
              "Keyword arguments of the reference calculator as JSON (e.g. "
              "'{\"method\": \"GFN1-xTB\"}')", default="{}", group=GROUP_ACTIVE),
    Parameter("uncertainty_threshold_mev_per_angstrom", float,
              "A sampled structure is labelled when the largest (over atoms) standard deviation "
              "over the ensemble of its predicted force exceeds this (GPUMD's active sigma_f)",
              unit="meV/Angstrom", default=50.0, minimum=0.0, exclusive_minimum=True,
              group=GROUP_ACTIVE, flag="--uncertainty-threshold"),
    Parameter("uncertainty_maximum_mev_per_angstrom", float,
              "Structures above this uncertainty are discarded as unphysical (an MD that "
              "exploded); none by default", unit="meV/Angstrom", default=None, minimum=0.0,
              exclusive_minimum=True, group=GROUP_ACTIVE, flag="--uncertainty-maximum"),
    Parameter("max_new_structures", int,
              "Largest number of structures labelled per round (the most uncertain first)",
              default=20, minimum=1, group=GROUP_ACTIVE),
    Parameter("md_start_structures", str,
              "Structures to start the sampling MD from (default: md_starts structures drawn "
              "from the training set)", default=None, kind=Kind.INPUT_FILES, group=GROUP_ACTIVE,
              extensions=XYZ_EXTENSIONS),
    Parameter("md_starts", int, "Training structures to start the sampling MD from when no "
              "md_start_structures are given", default=2, minimum=1, group=GROUP_ACTIVE),
    Parameter("md_engine", str,
              "MD of the sampling: langevin (ASE Langevin dynamics with calorine's CPUNEP, on "
              "CPU) or mdinsim (the MD step, mantid_mdinsim.md: GPUMD where a gpumd executable "
              "is found, NVT equilibration then NVE frames)", default="langevin",
              choices=("langevin", "mdinsim"), group=GROUP_ACTIVE),
    Parameter("md_temperature_k", float, "Temperatures of the sampling MD",
              unit="K", default=(300.0,), minimum=0.0, exclusive_minimum=True, multiple=True,
              group=GROUP_ACTIVE, flag="--md-temperature"),
    Parameter("md_steps", int, "MD steps per start structure and temperature", unit="steps",
              default=1000, minimum=1, group=GROUP_ACTIVE),
    Parameter("md_time_step_fs", float, "MD time step", unit="fs", default=1.0, minimum=0.0,
              exclusive_minimum=True, maximum=10.0, group=GROUP_ACTIVE, flag="--md-time-step"),
    Parameter("md_sample_interval", int, "MD steps between the structures checked for "
              "uncertainty", unit="steps", default=20, minimum=1, group=GROUP_ACTIVE),
) + SCHEDULER_PARAMETERS)

_GPUMD = when("backend", "auto", "gpumd")
_NEPPO = when("backend", "auto", "neppo")
_ACTIVE = when("active_learning_generations")

#: Settings that apply only with another's value: greyed out in the Mantid dialog, a warning
#: when given otherwise.
TRAIN_PARAMETERS = TRAIN_PARAMETERS.with_conditions({
    "nep_executable": _GPUMD,
    "population": _GPUMD,
    "fine_tune_model": _GPUMD,
    "fine_tune_restart": when("fine_tune_model"),
    "threads": _NEPPO,
    "early_stopping_patience": _NEPPO,
    "time_budget_minutes": _NEPPO,
    "lambda_force_out_of_plane": _NEPPO,
    "validation_fraction": when("ensemble_size"),
    "split_mode": when("ensemble_size"),
    **{name: _ACTIVE for name in (
        "reference_calculator", "reference_calculator_arguments", "md_engine",
        "uncertainty_threshold_mev_per_angstrom", "uncertainty_maximum_mev_per_angstrom",
        "max_new_structures", "md_start_structures", "md_starts", "md_temperature_k",
        "md_steps", "md_time_step_fs", "md_sample_interval")},
})


@dataclass(frozen=True)
class TrainSettings(StepSettings, parameters=TRAIN_PARAMETERS):
    """The training step's settings, validated and complete (``TrainSettings.from_values``);
    fields in the order of :data:`TRAIN_PARAMETERS` (the order of the records written)."""

    training_set: tuple[str, ...]
    test_set: tuple[str, ...] | None
    output_directory: str
    metrics_file: str | None
    species: tuple[str, ...] | None
    version: int
    radial_cutoff_angstrom: float | None
    angular_cutoff_angstrom: float
    n_max_radial: int
    n_max_angular: int
    basis_size_radial: int
    basis_size_angular: int
    l_max_3body: int
    l_max_4body: int
    l_max_5body: int
    neurons: int
    zbl_cutoff_angstrom: float | None
    fine_tune_model: str | None
    fine_tune_restart: str | None
    backend: str
    nep_executable: str | None
    generations: int | None
    batch_size: int | None
    population: int
    lambda_energy: float
    lambda_force: float
    lambda_virial: float
    lambda_1: float | None
    lambda_2: float | None
    lambda_force_out_of_plane: float
    output_interval: int
    seed: int
    early_stopping_patience: int
    time_budget_minutes: float | None
    threads: int
    ensemble_size: int
    validation_fraction: float
    split_mode: str
    active_learning_generations: int
    reference_calculator: str | None
    reference_calculator_arguments: str
    uncertainty_threshold_mev_per_angstrom: float
    uncertainty_maximum_mev_per_angstrom: float | None
    max_new_structures: int
    md_start_structures: tuple[str, ...] | None
    md_starts: int
    md_engine: str
    md_temperature_k: tuple[float, ...]
    md_steps: int
    md_time_step_fs: float
    md_sample_interval: int
    scheduler: str | None
    threads_per_worker: int
