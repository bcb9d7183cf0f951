"""NEP hyper-parameters: from the resolved parameters to the keywords of ``nep.in``.

One :class:`NepHyperparameters` holds the model and training settings; :meth:`~NepHyperparameters.
nep_in` gives the ordered keywords that calorine's ``write_nepfile`` / ``setup_training`` write for
a backend. GPUMD's ``nep`` stops at any keyword it does not know (``PRINT_KEYWORD_ERROR`` in
``src/main_nep/parameters.cu``) and neppo refuses GPUMD's ``fine_tune`` and ignores SNES's
``population``, so the two backends get slightly different files:

=============  =====================================  ======================================
keyword        gpumd (``nep``)                        neppo
=============  =====================================  ======================================
fine_tune      foundation model and restart           (refused: fine-tuning needs GPUMD)
population     SNES population                        (left out)
seed           (left out: ``nep`` seeds from clock)   initial parameters and batches
lambda_1/2     GPUMD's automatic value unless given   none unless given
=============  =====================================  ======================================

The order puts ``type`` before ``cutoff`` (``nep`` rejects the other order, calorine notes).
:func:`read_model_header` reads the header of a ``nep.txt`` (version, species, architecture), for
fine-tuning and for telling NEP3 from NEP4.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import InputFileError, ParameterError
from .parameters import (DEFAULT_BATCH_SIZE, DEFAULT_GENERATIONS, DEFAULT_RADIAL_CUTOFF_ANGSTROM,
                         TrainSettings)

BACKENDS = ("gpumd", "neppo")


@dataclass(frozen=True)
class ModelHeader:
    """The header of a ``nep.txt``: what GPUMD compares against ``nep.in`` when fine-tuning."""

    path: Path
    version: int
    species: tuple[str, ...]
    model_kind: str                       # "potential", "dipole", "polarizability", ...
    zbl_cutoffs_angstrom: tuple[float, float] | None
    radial_cutoff_angstrom: float
    angular_cutoff_angstrom: float
    n_max: tuple[int, int]
    basis_size: tuple[int, int]
    l_max: tuple[int, ...]
    neurons: int


_FIRST_LINE = re.compile(r"^nep(\d+)(\S*)$")


def read_model_header(path: str | Path) -> ModelHeader:
    """Parse the header lines of a NEP model file (``nep3 ...``/``nep4_zbl ...``, ``zbl``,
    ``cutoff``, ``n_max``, ``basis_size``, ``l_max``, ``ANN``)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "NEP model file not found", fix="give an existing nep.txt")
    header_lines: dict[str, list[str]] = {}
    with open(path, errors="replace") as handle:
        first = handle.readline().split()
        if len(first) < 2 or not _FIRST_LINE.match(first[0]):
            raise InputFileError(path, "not a NEP model file", where="line 1",
                                 fix="give a nep.txt written by GPUMD's nep, neppo or calorine "
                                     "(first line 'nep4 <number of species> <species>')")
        for _ in range(8):
            words = handle.readline().split()
            if not words:
                break
            if words[0] in ("zbl", "cutoff", "n_max", "basis_size", "l_max", "ANN"):
                header_lines[words[0]] = words[1:]
    match = _FIRST_LINE.match(first[0])
    version = int(match.group(1))
    suffix = match.group(2)
    try:
        n_species = int(first[1])
        species = tuple(first[2:2 + n_species])
        kind = "potential"
        for name in ("dipole", "polarizability", "temperature", "charge"):
            if name in suffix:
                kind = name
        zbl = header_lines.get("zbl")
        cutoff = header_lines["cutoff"]
        header = ModelHeader(
            path=path, version=version, species=species, model_kind=kind,
            zbl_cutoffs_angstrom=(float(zbl[0]), float(zbl[1])) if zbl else None,
            radial_cutoff_angstrom=float(cutoff[0]), angular_cutoff_angstrom=float(cutoff[1]),
            n_max=(int(header_lines["n_max"][0]), int(header_lines["n_max"][1])),
            basis_size=(int(header_lines["basis_size"][0]), int(header_lines["basis_size"][1])),
            l_max=tuple(int(v) for v in header_lines["l_max"]),
            neurons=int(header_lines["ANN"][0]))
    except (KeyError, IndexError, ValueError) as error:
        raise InputFileError(path, f"incomplete NEP model header ({error})",
                             fix="give a complete nep.txt") from None
    if len(species) != n_species:
        raise InputFileError(path, f"announces {n_species} species but lists {len(species)}",
                             where="line 1", fix="give a complete nep.txt")
    return header


@dataclass(frozen=True)
class NepHyperparameters:
    """Model and training settings of one NEP training (units: Angstrom)."""

    species: tuple[str, ...]
    version: int = 4
    radial_cutoff_angstrom: float = 8.0
    angular_cutoff_angstrom: float = 4.0
    n_max: tuple[int, int] = (6, 6)
    basis_size: tuple[int, int] = (6, 6)
    l_max: tuple[int, int, int] = (4, 2, 0)
    neurons: int = 30
    zbl_cutoff_angstrom: float | None = None
    generations: int | None = None
    batch_size: int | None = None
    population: int = 50
    lambda_energy: float = 1.0
    lambda_force: float = 1.0
    lambda_virial: float = 0.1
    lambda_1: float | None = None
    lambda_2: float | None = None
    #: neppo only: weight of the force error along ring normals (train/neppo_out_of_plane.py)
    lambda_force_out_of_plane: float = 0.0
    output_interval: int = 100
    seed: int = 42
    fine_tune: tuple[Path, Path] | None = None
    notes: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_parameters(cls, parameters: TrainSettings | Mapping[str, Any],
                        species: Sequence[str], backend: str = "gpumd") -> "NepHyperparameters":
        """From the training settings (or values of TRAIN_PARAMETERS, validated first); checks
        the settings that depend on each other. ``backend`` ("gpumd" or "neppo") chooses the
        defaults that depend on it."""
        settings = TrainSettings.from_values(parameters)
        radial = settings.radial_cutoff_angstrom
        if radial is None:
            radial = max(DEFAULT_RADIAL_CUTOFF_ANGSTROM[backend],
                         settings.angular_cutoff_angstrom)
        if settings.angular_cutoff_angstrom > radial:
            raise ParameterError(
                "angular_cutoff_angstrom",
                f"{settings.angular_cutoff_angstrom:g} Angstrom exceeds the radial cutoff "
                f"{radial:g} Angstrom",
                "GPUMD requires 3 <= angular cutoff <= radial cutoff <= 10 Angstrom")
        hyper = cls(
            species=tuple(species), version=settings.version,
            radial_cutoff_angstrom=radial,
            angular_cutoff_angstrom=settings.angular_cutoff_angstrom,
            n_max=(settings.n_max_radial, settings.n_max_angular),
            basis_size=(settings.basis_size_radial, settings.basis_size_angular),
            l_max=(settings.l_max_3body, settings.l_max_4body, settings.l_max_5body),
            neurons=settings.neurons, zbl_cutoff_angstrom=settings.zbl_cutoff_angstrom,
            generations=settings.generations, batch_size=settings.batch_size,
            population=settings.population, lambda_energy=settings.lambda_energy,
            lambda_force=settings.lambda_force, lambda_virial=settings.lambda_virial,
            lambda_1=settings.lambda_1, lambda_2=settings.lambda_2,
            lambda_force_out_of_plane=settings.lambda_force_out_of_plane,
            output_interval=settings.output_interval, seed=settings.seed)
        if hyper.l_max[1] not in (0, 2):
            raise ParameterError("l_max_4body", f"{hyper.l_max[1]} is neither 0 nor 2",
                                 "give 2 to include the four-body descriptors, 0 not to")
        model, restart = settings.fine_tune_model, settings.fine_tune_restart
        if (model is None) != (restart is None):
            raise ParameterError("fine_tune_restart" if restart is None else "fine_tune_model",
                                 "fine-tuning needs both the foundation model's nep.txt and its "
                                 "nep.restart", "give --fine-tune-model and --fine-tune-restart")
        if model is not None:
            hyper = hyper.with_foundation(Path(model), Path(restart))
        return hyper

    def with_foundation(self, model: Path, restart: Path) -> "NepHyperparameters":
        """The architecture of a foundation model (GPUMD compares the whole header of the
        foundation model with nep.in, so it must be repeated), for fine-tuning."""
        header = read_model_header(model)
        if not restart.is_file():
            raise InputFileError(restart, "foundation model restart file not found",
                                 fix="give the nep.restart that belongs to the foundation model")
        if header.model_kind != "potential":
            raise InputFileError(model, f"a {header.model_kind} model cannot be fine-tuned into "
                                 "a potential", fix="give a potential model such as NEP89")
        missing = [s for s in self.species if s not in header.species]
        if missing:
            raise InputFileError(model, f"the foundation model has no {missing[0]}",
                                 fix="fine-tune only on species the foundation model covers")
        notes = list(self.notes)
        notes.append(
            f"fine-tuning {model.name}: architecture taken from it (version {header.version}, "
            f"cutoffs {header.radial_cutoff_angstrom:g}/{header.angular_cutoff_angstrom:g} "
            f"Angstrom, n_max {header.n_max}, basis_size {header.basis_size}, l_max "
            f"{header.l_max}, {header.neurons} neurons)")
        l_max = tuple(header.l_max) + (0,) * (3 - len(header.l_max))
        return replace(
            self, version=header.version,
            radial_cutoff_angstrom=header.radial_cutoff_angstrom,
            angular_cutoff_angstrom=header.angular_cutoff_angstrom, n_max=header.n_max,
            basis_size=header.basis_size, l_max=l_max[:3], neurons=header.neurons,
            zbl_cutoff_angstrom=(header.zbl_cutoffs_angstrom[1]
                                 if header.zbl_cutoffs_angstrom else None),
            fine_tune=(model.resolve(), restart.resolve()), notes=tuple(notes))

    def generations_for(self, backend: str) -> int:
        return self.generations if self.generations is not None else DEFAULT_GENERATIONS[backend]

    def batch_for(self, backend: str) -> int:
        return self.batch_size if self.batch_size is not None else DEFAULT_BATCH_SIZE[backend]

    def check_backend(self, backend: str) -> None:
        """Refuse settings a backend cannot train, naming the fix."""
        if backend != "neppo" and self.lambda_force_out_of_plane:
            raise ParameterError(
                "lambda_force_out_of_plane", "the out-of-plane force term is a neppo loss term; "
                "GPUMD's nep has no such term",
                "use --backend neppo, or leave lambda_force_out_of_plane at 0")
        if backend == "neppo":
            if self.version != 4:
                raise ParameterError(
                    "version", f"NEP{self.version} cannot be trained on CPU: neppo (and "
                    "calorine's CPUNEP) handle NEP4 only",
                    "use --nep-version 4, or --backend gpumd with a GPUMD nep older than 5.3 "
                    "(later versions train NEP4 only)")
            if self.fine_tune is not None:
                raise ParameterError(
                    "fine_tune_model", "fine-tuning a foundation model (GPUMD's fine_tune "
                    "keyword) needs GPUMD's nep; neppo does not support it",
                    "use --backend gpumd on a machine with a GPU and GPUMD's nep")

    def nep_in(self, backend: str, fine_tune_names: tuple[str, str] | None = None
               ) -> dict[str, Any]:
        """The keywords of nep.in for ``backend``, in the order written.

        ``fine_tune_names`` are the file names of the foundation model and restart as the run
        folder sees them (the core links them there; ``nep`` splits lines on spaces).
        """
        self.check_backend(backend)
        keywords: dict[str, Any] = {}
        if backend == "gpumd" and self.fine_tune is not None:
            names = fine_tune_names or (str(self.fine_tune[0]), str(self.fine_tune[1]))
            keywords["fine_tune"] = list(names)
        keywords["version"] = self.version
        keywords["type"] = [len(self.species), *self.species]
        if self.zbl_cutoff_angstrom is not None:
            keywords["zbl"] = self.zbl_cutoff_angstrom
        keywords["cutoff"] = [self.radial_cutoff_angstrom, self.angular_cutoff_angstrom]
        keywords["n_max"] = list(self.n_max)
        keywords["basis_size"] = list(self.basis_size)
        keywords["l_max"] = list(self.l_max)
        keywords["neuron"] = self.neurons
        keywords["lambda_e"] = self.lambda_energy
        keywords["lambda_f"] = self.lambda_force
        keywords["lambda_v"] = self.lambda_virial
        if self.lambda_1 is not None:
            keywords["lambda_1"] = self.lambda_1
        if self.lambda_2 is not None:
            keywords["lambda_2"] = self.lambda_2
        keywords["batch"] = self.batch_for(backend)
        if backend == "gpumd":
            keywords["population"] = self.population
        keywords["generation"] = self.generations_for(backend)
        keywords["output_interval"] = min(self.output_interval, self.generations_for(backend))
        if backend == "neppo":
            keywords["seed"] = self.seed
        return keywords
