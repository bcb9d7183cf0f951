"""MDPredict: structure + NEP model -> MD -> S(q,w) -> instrument spectrum, in one algorithm.

Thin Mantid face of :func:`mantid_mdinsim.predict.predict` (``mdinsim predict``); the chain,
its resumable stages, the harmonic comparison, the ensemble's model spread and their tests live
in ``mantid_mdinsim/predict``. Loaded by Mantid's plugin loader as a top-level module, so every
import is absolute.
"""

import re
from pathlib import Path

from mantid.api import AlgorithmFactory, PythonAlgorithm
from mantid.kernel import Direction

from mantid_mdinsim.errors import InputFileError, ParameterError
from mantid_mdinsim.io.paths import check_output_paths
from mantid_mdinsim.mantid.algorithm_base import MDAlgorithm, user_errors_without_traceback
from mantid_mdinsim.predict import PREDICT_PARAMETERS, predict, resolve_parameters
from mantid_mdinsim.predict.report import report_text


class MDPredict(MDAlgorithm, PythonAlgorithm):
    PARAMETERS = PREDICT_PARAMETERS
    STEP = "MDPredict"
    SEE_ALSO = ("MDRunGPUMD", "MDComputeSqw", "MDApplyInstrument")

    def summary(self):
        return ("Predicts what an INS instrument measures for a structure with a NEP model: "
                "MD, S(q,w) and the instrument in one run (resumable), optionally beside the "
                "harmonic spectrum and with an ensemble's model-uncertainty band.")

    def PyInit(self):
        self.declare_parameters()
        self.declareProperty(name="DemoEnsemble", defaultValue=False, direction=Direction.Input,
                             doc="With Demo: the demo's own ensemble as Ensemble (the command "
                                 "line's --demo NAME --ensemble without files).")
        self.setPropertyGroup("DemoEnsemble", "Predict")
        self.declare_output("OutputWorkspace", "The instrument spectrum (1D S(w) in AbINS' "
                            "layout for indirect geometry, 2D S(|Q|,w) for direct geometry); "
                            "a group of one per temperature when several are given.")
        self.declare_output("OutputHarmonic", "With Harmonic: the harmonic spectrum of the "
                            "same model through the same instrument.", optional=True)
        self.declare_output("OutputModelSpread", "With Ensemble: the model spread, the "
                            "standard deviation over the members of their spectra per energy "
                            "bin on the scale of OutputWorkspace (the band drawn around it).",
                            optional=True)

    def _given(self):
        """The properties set, as the command line's given options (a demo's values are
        overridden by them alone)."""
        given = self.given_parameters()
        if self.getProperty("DemoEnsemble").value:
            given["ensemble"] = []   # the demo's own, as --ensemble without files
        return given

    def validateInputs(self):
        issues = self.validate_parameters()
        if issues:
            return issues
        given = self._given()
        if given.get("ensemble") == [] and given.get("demo") is None:
            return {"DemoEnsemble": "applies only with Demo (give Ensemble files otherwise)"}
        try:
            resolve_parameters(given)
        except (ParameterError, InputFileError) as error:
            issues[self._property_of(error, given)] = str(error)
        return issues

    def _property_of(self, error, given):
        """The property an error of the core's validation is about: the parameter it names,
        else the one holding the file it names, else the first property."""
        names = self.PARAMETERS.names()
        named = getattr(error, "name", None)
        if named is None and isinstance(error, InputFileError):
            found = re.search(r"parameter '(\w+)'", error.where or "")
            named = found.group(1) if found else None
        if named in names:
            return self.PARAMETERS[named].property_name
        if isinstance(error, InputFileError):
            for name, value in given.items():
                files = value if isinstance(value, list) else [value]
                if any(isinstance(f, str) and Path(f).resolve() == error.path.resolve()
                       for f in files):
                    return self.PARAMETERS[name].property_name
        return self.declared_parameters[0].property_name

    @user_errors_without_traceback
    def PyExec(self):
        given = self._given()
        resolved = resolve_parameters(given)
        for note in self.PARAMETERS.inapplicable(given, resolved):
            self.log().warning(f"MDPredict: {note}")
        check_output_paths(self.PARAMETERS, resolved)
        result = self.run_core(predict, given)
        several = len(result.temperatures) > 1

        def per_temperature(item, temperature):
            return item.copy(name=f"{temperature.temperature_k:g}K") if several else item

        spectra = [per_temperature(t.spectrum, t) for t in result.temperatures]
        self.set_output("OutputWorkspace", spectra if several else spectra[0],
                        resolved)
        harmonic = [per_temperature(t.harmonic, t) for t in result.temperatures
                    if t.harmonic is not None]
        if harmonic and self.getPropertyValue("OutputHarmonic"):
            self.set_output("OutputHarmonic", harmonic if several else harmonic[0],
                            resolved)
        spreads = [per_temperature(t.model_spread.workspaces(t.temperature_k)[0], t)
                   for t in result.temperatures if t.model_spread is not None]
        if spreads and self.getPropertyValue("OutputModelSpread"):
            self.set_output("OutputModelSpread", spreads if several else spreads[0],
                            resolved)
        for note in result.warnings:
            self.log().warning(f"MDPredict: {note}")
        self.log().notice(report_text(result.report))


AlgorithmFactory.subscribe(MDPredict)
