"""instrument step (MDApplyInstrument, ``mdinsim instrument``): what a spectrometer measures.

Turns a simulated S(|Q|, w) into the spectrum a given instrument would record: kinematic
constraints (direct geometry: Ei and detector angles; indirect geometry: analyser banks and
their |Q|(w) lines), energy resolution from resins applied with euphonic's variable-width
broadening, and corrections (quantum correction of eq. 6 with detailed balance, Debye-Waller,
1/|Q|^2, w^2). Instruments are data: ``instrument_params/*.yaml``.

Public surface::

    INSTRUMENT_PARAMETERS                  # the step's ParameterSet (CLI: input/output files)
    ALGORITHM_PARAMETERS                   # the same without the input file (Mantid algorithm)
    CORE_PARAMETERS                        # what apply_instrument takes
    InstrumentSettings.from_values(instrument="TOSCA", ...)   # the validated settings object
    list_instruments() -> list[Instrument]
    get_instrument(name) -> Instrument     # case-insensitive, aliases; error lists valid names
    describe_instrument(instrument) -> dict   # settings and valid ranges (mdinsim instruments)
    apply_instrument(sqw, settings_or_values, progress) -> InstrumentResult
        result.spectrum, result.banks, result.resolution, result.workspaces(), result.save(path)
    load_sqw(path) -> Spectrum             # S(|Q|, w) from a processed NeXus file
    direct_q_limits(...)                   # the |Q| range a direct-geometry instrument reaches

Units: meV, 1/Angstrom, degrees, K, Angstrom^2.
"""

from .apply import InstrumentResult, apply_instrument, load_sqw, sqw_grid_from_spectrum
from .instruments import (Bank, DirectGeometryInstrument, IndirectGeometryInstrument, Instrument,
                          RunSettings)
from .kinematics import direct_q_limits
from .parameters import (ALGORITHM_PARAMETERS, CORE_PARAMETERS, INSTRUMENT_PARAMETERS,
                         InstrumentSettings)
from .registry import describe_instrument, get_instrument, instrument_names, list_instruments

__all__ = [
    "INSTRUMENT_PARAMETERS", "ALGORITHM_PARAMETERS", "CORE_PARAMETERS", "InstrumentSettings",
    "Instrument", "DirectGeometryInstrument",
    "IndirectGeometryInstrument", "Bank", "RunSettings", "InstrumentResult", "apply_instrument",
    "describe_instrument", "get_instrument", "instrument_names", "list_instruments", "load_sqw",
    "sqw_grid_from_spectrum", "direct_q_limits",
]
