"""The whole chain as a Mantid Python script, with mdinsim's algorithms through mantid.simpleapi.

Run it in Mantid Workbench's script editor (after ``mdinsim mantid-register`` and a restart, the
algorithms are also in the algorithm dialogs), or with any Python in which ``import mantid``
works and mdinsim is installed::

    python examples/mantid_script.py --output-dir mantid_chain [--train]

The steps, each a Mantid algorithm whose outputs are workspaces in the ADS:

1. (``--train``) MDTrainNEP: a NEP model from the project's GPAW silicon reference data
   (``examples/si_demo_model/si_gpaw_reference.xyz``) with neppo on CPU; otherwise the demo model
   shipped with mdinsim (trained by the same recipe, longer);
2. MDRunGPUMD: MD of 64 silicon atoms at 300 K (GPUMD on a GPU machine, else ASE + CPUNEP);
   the run table gives the trajectory files and U;
3. MDComputeSqw: S(|Q|, w) from the trajectories (neutron weights);
4. MDApplyInstrument: TOSCA (kinematics, resolution, quantum correction at 300 K), and ARCS at
   Ei = 100 meV with the Debye-Waller factor removed using U from step 2.

Workspaces: ``si_thermo``, ``si_runs``, ``si_sqw``, ``si_tosca`` (+ banks), ``si_arcs``; files in
the output folder (processed NeXus and PNG of each instrument spectrum).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE_DATA = HERE / "si_demo_model" / "si_gpaw_reference.xyz"


def algorithms():
    """mantid.simpleapi with the mdinsim algorithms in it: Workbench loads them at start-up once
    ``mdinsim mantid-register`` has been run; elsewhere they are subscribed here."""
    import mantid.simpleapi as simpleapi

    if not hasattr(simpleapi, "MDComputeSqw"):
        from mantid_mdinsim.mantid.registration import register

        register()
    return simpleapi


def run_chain(output_dir: Path, temperature_k: float = 300.0, supercell: int = 2,
              production_ps: float = 6.0, train: bool = False, train_generations: int = 2000,
              processes: int = 0) -> dict:
    """The chain of algorithms; returns the output workspaces by name."""
    from ase.build import bulk
    from ase.io import write
    from mantid.api import AnalysisDataService

    from mantid_mdinsim.predict import SILICON_MODEL

    api = algorithms()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    # 1. The NEP model.
    model = SILICON_MODEL
    if train:
        api.MDTrainNEP(TrainingSet=str(REFERENCE_DATA), OutputDirectory=str(output_dir / "nep"),
                       Backend="neppo", Generations=train_generations, RadialCutoffAngstrom=5.0,
                       AngularCutoffAngstrom=4.0, NMaxRadial=6, NMaxAngular=4, Threads=1, Seed=2025,
                       OutputWorkspace="si_metrics")
        model = output_dir / "nep" / "nep.txt"

    # 2. MD.
    structure = output_dir / "si.xyz"
    write(structure, bulk("Si", "diamond", a=5.47, cubic=True), format="extxyz")
    api.MDRunGPUMD(InputStructure=str(structure), NEPModel=str(model),
                   Supercell=[supercell] * 3, Temperatures=[temperature_k],
                   OutputDir=str(output_dir / "md"), TimeStepFs=2.0, Equilibration="nvt",
                   EquilibrationTimePs=1.0, ProductionTimePs=production_ps, DumpIntervalFs=10.0,
                   MaxFrequencyMev=70.0, Processes=processes, OutputWorkspace="si_thermo",
                   OutputRunsTable="si_runs")
    runs = AnalysisDataService.retrieve("si_runs")
    trajectories = list(runs.column("trajectory_path"))
    msd = float(runs.column("mean_squared_displacement_angstrom2")[0])
    frames = int(runs.column("number_of_frames")[0])

    # 3. S(|Q|, w): |Q| shells 0.09 1/Angstrom wide, so that each holds q-points of the
    # 2x2x2 supercell (its reciprocal lattice spacing is 2 pi / 10.9 = 0.58 1/Angstrom).
    # A MultipleFileProperty takes its files as one ','-separated string (Mantid refuses a list).
    api.MDComputeSqw(InputTrajectories=",".join(trajectories), TimeStepFs=10.0,
                     Window=max(20, frames // 4), QMax=11.0, QCount=600, QWidth=0.09,
                     OutputWorkspace="si_sqw", OutputFile=str(output_dir / "si_sqw.nxs"))

    # 4. Two instruments.
    api.MDApplyInstrument(InputWorkspace="si_sqw", Instrument="TOSCA", Temperature=temperature_k,
                          EnergyMin=3.0, OutputWorkspace="si_tosca", OutputBanks="si_tosca_banks",
                          OutputFile=str(output_dir / "si_tosca.nxs"),
                          PlotFile=str(output_dir / "si_tosca.png"))
    api.MDApplyInstrument(InputWorkspace="si_sqw", Instrument="ARCS", IncidentEnergy=100.0,
                          Temperature=temperature_k, EnergyMin=5.0, DebyeWaller="remove",
                          MeanSquaredDisplacement=msd, OutputWorkspace="si_arcs",
                          OutputFile=str(output_dir / "si_arcs.nxs"),
                          PlotFile=str(output_dir / "si_arcs.png"))
    names = ["si_thermo", "si_runs", "si_sqw", "si_tosca", "si_arcs"] + (
        ["si_metrics"] if train else [])
    return {name: AnalysisDataService.retrieve(name) for name in names}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("mantid_chain"))
    parser.add_argument("--temperature", type=float, default=300.0)
    parser.add_argument("--supercell", type=int, default=2)
    parser.add_argument("--production-ps", type=float, default=6.0)
    parser.add_argument("--train", action="store_true",
                        help="train the model with MDTrainNEP first (neppo, a few minutes)")
    args = parser.parse_args(argv)
    workspaces = run_chain(args.output_dir, args.temperature, args.supercell,
                           args.production_ps, args.train)
    tosca = workspaces["si_tosca"]
    energy, intensity = tosca.readX(0), tosca.readY(0)
    centres = 0.5 * (energy[1:] + energy[:-1]) if len(energy) == len(intensity) + 1 else energy
    print(f"TOSCA spectrum: {len(intensity)} bins from {centres[0]:.1f} to {centres[-1]:.1f} "
          f"meV, maximum at {centres[intensity.argmax()]:.1f} meV")
    print("workspaces: " + ", ".join(workspaces))
    return 0


if __name__ == "__main__":
    sys.exit(main())
