"""The plotting process: its pictures are those drawn in the command's own process, and its
errors reach the command."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread

from mantid_mdinsim.plot_process import PlotProcess
from mantid_mdinsim.plotting import save_plot
from mantid_mdinsim.spectrum import Spectrum, energy_axis, momentum_axis


def _sqw() -> Spectrum:
    energy = np.linspace(-20.0, 20.0, 41)
    q = np.linspace(0.5, 5.0, 10)
    values = np.exp(-((energy[None, :] - 3.0 * q[:, None]) ** 2) / 8.0) + 1e-3
    return Spectrum(x=energy_axis(energy), values=values, vertical=momentum_axis(q), name="sqw")


def test_helper_draws_the_same_pixels_as_this_process(tmp_path):
    spectrum = _sqw()
    reference = save_plot(spectrum, tmp_path / "here.png", log_scale=True)
    with PlotProcess() as plotter:
        assert plotter._process is not None          # forked (Linux), not the fallback
        helper = plotter.save_plot(spectrum, tmp_path / "helper.png", log_scale=True)
        plotter.wait()
        assert helper.is_file()
    np.testing.assert_array_equal(imread(helper), imread(reference))


def test_an_error_of_the_helper_is_raised_in_the_command(tmp_path):
    with PlotProcess() as plotter:
        plotter.save_plot([], tmp_path / "nothing.png")    # no spectrum: save_plot refuses
        with pytest.raises(ValueError, match="nothing to plot"):
            plotter.wait()
    assert not (tmp_path / "nothing.png").exists()


def test_without_fork_plots_are_drawn_here(tmp_path, monkeypatch):
    monkeypatch.setenv("MDINSIM_PLOT_IN_PROCESS", "1")
    with PlotProcess() as plotter:
        assert plotter._process is None
        path = plotter.save_plot(_sqw(), tmp_path / "here.png")
    assert imread(path).shape[:2] == (600, 800)


def test_the_helper_ends_with_a_command_that_is_killed(tmp_path):
    """A command killed outright (no clean-up) leaves no helper behind: the helper sees the
    end of the pipe."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = ("import os, sys\nfrom mantid_mdinsim.plot_process import PlotProcess\n"
              "p = PlotProcess()\nprint(p._process.pid, flush=True)\n"
              "os.kill(os.getpid(), 9)\n")
    process = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             timeout=60)
    assert process.returncode == -signal.SIGKILL
    helper = int(process.stdout.split()[0])
    for _ in range(100):
        try:
            os.kill(helper, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(helper, signal.SIGKILL)
    raise AssertionError("the helper outlived the killed command")


def test_a_helper_started_early_is_claimed_or_ended(tmp_path):
    """``mdinsim sqw`` forks its helper before parsing its options: not for help or
    --no-plot; the command claims it (and draws with it), or it is ended."""
    from mantid_mdinsim import plot_process

    for argv in (["sqw", "run.xyz", "--no-plot"], ["sqw", "--help"], ["sqw", "-h"]):
        plot_process.start_early(argv)
        assert plot_process._early is None, argv
    plot_process.start_early(["sqw", "run.xyz"])
    early = plot_process._early
    assert early is not None and early._process is not None
    with plot_process.claim() as plotter:
        assert plotter is early and plot_process._early is None
        path = plotter.save_plot(_sqw(), tmp_path / "early.png", log_scale=True)
    np.testing.assert_array_equal(imread(path), imread(save_plot(_sqw(), tmp_path / "here.png",
                                                                 log_scale=True)))
    plot_process.start_early(["sqw", "run.xyz"])
    process = plot_process._early._process
    plot_process.discard_early()                          # the command failed before its plot
    assert plot_process._early is None and not process.is_alive()
