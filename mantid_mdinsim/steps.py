"""The names of the steps, in one place: each one's Mantid algorithm (where it has one), the
title of its parameters and the ``mdinsim_step`` log of its outputs
(:func:`~.provenance.provenance_logs`).

A step recognises another's outputs by this log (the instrument step refuses the quantum
correction on a harmonic S(|Q|,w), which has quantum statistics already), so the names live
below the steps, where both can import them.
"""

TRAIN = "MDTrainNEP"
MD = "MDRunGPUMD"
SQW = "MDComputeSqw"
INSTRUMENT = "MDApplyInstrument"
HARMONIC = "MDHarmonic"
PREDICT = "MDPredict"
