"""md step: molecular dynamics with a NEP model (MDRunGPUMD, ``mdinsim md``).

The public surface:

* :data:`MD_PARAMETERS`: the parameter definitions (names, units, defaults, bounds);
* :func:`run_md` ``(parameters, progress=None, **kwargs) -> MDResult``: every temperature and
  independent run, GPUMD on a GPU or ASE + calorine's CPUNEP on CPU (i-PI for path
  integrals), resumable;
* :class:`MDResult`: per-run summaries (``runs``), ``trajectory_paths``,
  ``mean_squared_displacement_angstrom2`` (U per temperature), ``runs_table()``,
  ``thermo_table()`` and ``workspaces()`` (Tables for Mantid);
* readers: :func:`read_thermo_csv`, :func:`read_gpumd_thermo`, :func:`iter_frames`,
  :func:`mean_squared_displacement`;
* :func:`protocol_rules`: the protocol's fixed rules beyond the settings (for reuse keys).

Per run, ``<output_dir>/T_<T>K/run_<i>/`` holds ``trajectory.xyz`` (extended XYZ, ``Time`` in
fs), ``thermo.csv`` and ``summary.json`` (key ``mean_squared_displacement_angstrom2``).
"""

from ..lazy import lazy_attributes
from .parameters import MD_PARAMETERS, MDSettings

#: What an MD piece imports (CPU backend: calorine, seconds): loaded once for all local workers
#: (execution.prepare_local_workers). Here, not in the heavy core, so that the command starts
#: loading them before it imports the core (docs/scaling.md).
WORKER_MODULES = ("mantid_mdinsim.md.tasks", "mantid_mdinsim.md.cpu",
                  "mantid_mdinsim.atomistic.calorine_loading", "calorine.calculators")

# the cores load ASE, SciPy, calorine...: only when used, not for --help
__getattr__ = lazy_attributes(__name__, {
    "MDResult": ".core", "run_md": ".core", "mean_squared_displacement": ".msd",
    "iter_frames": ".outputs", "read_gpumd_thermo": ".outputs", "read_thermo_csv": ".outputs",
    "protocol_rules": ".protocol",
})

__all__ = ["MD_PARAMETERS", "MDSettings", "run_md", "MDResult", "read_thermo_csv",
           "read_gpumd_thermo", "iter_frames", "mean_squared_displacement", "protocol_rules"]
