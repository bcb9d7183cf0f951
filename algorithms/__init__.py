"""Mantid plugin folder: one PythonAlgorithm file per algorithm (see mantid_mdinsim.mantid)."""
