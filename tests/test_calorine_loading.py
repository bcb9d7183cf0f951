"""calorine evaluates models without importing scikit-learn (atomistic/calorine_loading.py),
and its training set-up still runs the real function. Each case runs in a fresh interpreter:
the stand-in acts only before calorine.nep is first imported."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np


def _python(code: str, *arguments: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *arguments],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


FORCES = """
    import sys
    import numpy as np
    from ase.build import bulk
    model, output, mode = sys.argv[1:]
    if mode == "deferred":
        import mantid_mdinsim.atomistic.calorine_loading  # noqa: F401
    from calorine.calculators import CPUNEP
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.rattle(0.05, seed=3)
    atoms.calc = CPUNEP(model)
    np.save(output, atoms.get_forces())
    print("sklearn" in sys.modules)
"""


def test_cpunep_without_scikit_learn_gives_the_same_forces(shared_data, tmp_path):
    model = str(shared_data / "nep" / "Si_2022_NEP4_3body.txt")
    deferred = _python(FORCES, model, str(tmp_path / "deferred.npy"), "deferred")
    plain = _python(FORCES, model, str(tmp_path / "plain.npy"), "plain")
    assert (deferred, plain) == ("False", "True")   # calorine alone loads scikit-learn
    assert np.array_equal(np.load(tmp_path / "deferred.npy"), np.load(tmp_path / "plain.npy"))


def test_training_setup_loads_the_real_module(tmp_path):
    out = _python("""
        import sys
        from ase.build import bulk
        from ase.calculators.singlepoint import SinglePointCalculator
        import mantid_mdinsim.atomistic.calorine_loading  # noqa: F401
        import calorine.nep
        from calorine.nep import setup_training
        before = "sklearn" in sys.modules
        structures = []
        for k in range(4):
            atoms = bulk("Si", "diamond", a=5.43, cubic=True)
            atoms.rattle(0.02, seed=k)
            atoms.calc = SinglePointCalculator(atoms, energy=-5.0 * len(atoms),
                                               forces=0 * atoms.positions)
            structures.append(atoms)
        setup_training({"type": [1, "Si"]}, structures, rootdir=sys.argv[1], n_splits=2,
                       overwrite=True)
        import calorine.nep.training_factory as real
        print(before, "sklearn" in sys.modules, real.__file__.endswith("training_factory.py"),
              calorine.nep.training_factory is real)
    """, str(tmp_path / "run"))
    assert out.split() == ["False", "True", "True", "True"]
    # the k-fold split of the real function (KFold from scikit-learn): two folds and the full set
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "nepmodel_full", "nepmodel_split1", "nepmodel_split2"]
