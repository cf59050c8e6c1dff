"""Two processes under torchrun (gloo on the CPU): replicas stay identical, one checkpoint is written.

Marked ``distributed`` (left out of the default run; `pytest -m distributed`): each test starts
torchrun, ~15 s on 2 cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TOY_PLUGIN_DIR
from pipeline_files import PIPES
from safetensors.torch import load_file

pytestmark = pytest.mark.distributed

GAN = PIPES / "toy_gan.toml"
EMOPORTRAITS = str(Path(sys.executable).parent / "emoportraits")  # the console script of this environment
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]

REPLICA = """
import sys, torch
from safetensors.torch import save_file
from emoportraits_core import build_registry, make_plugin_manager
import emoportraits_plugins, emoportraits_toy.plugin as toy
from emoportraits_core.pipeline import resolve_pipeline
from emoportraits_core.training import DistributedContext, Trainer
registry = build_registry(make_plugin_manager(entry_points=False, plugins=[emoportraits_plugins, toy]))
resolved = resolve_pipeline(sys.argv[1], ["optimizers.generator.lr=1e-2"], registry)
with DistributedContext.from_env(torch.device("cpu")).session() as dist:
    t = Trainer(resolved, registry, sys.argv[2], quiet=True, dist=dist)
    t.fit(4)
    state = {f"{k}.{n}": v.contiguous() for k, m in t.modules.items() for n, v in m.state_dict().items()}
    save_file(state, f"{sys.argv[2]}/rank{dist.rank}.safetensors")
"""


def _env(site: Path | None = None) -> dict[str, str]:
    paths = [str(TOY_PLUGIN_DIR), *([str(site)] if site else []), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), "OMP_NUM_THREADS": "1"}


def test_replicas_stay_identical(tmp_path):
    """Each process trains on its own shard of the data; gradients are averaged (also for a component
    called twice a step, the discriminator, and for one whose output is a Motion)."""
    done = subprocess.run(
        [*TORCHRUN, "--no-python", sys.executable, "-c", REPLICA, str(GAN), str(tmp_path)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rank0, rank1 = (load_file(str(tmp_path / f"rank{r}.safetensors")) for r in (0, 1))
    assert rank0.keys() == rank1.keys()
    assert all((rank0[k] == rank1[k]).all() for k in rank0)  # gradients were averaged: the same weights
    checkpoints = list((tmp_path / "checkpoints").glob("step_*"))
    assert [p.name for p in checkpoints] == ["step_0000004"]  # rank 0 alone wrote


def test_the_command_under_torchrun_writes_one_checkpoint(toy_site, tmp_path):
    out = tmp_path / "run"
    done = subprocess.run(
        [
            *TORCHRUN,
            "--no-python",
            EMOPORTRAITS,
            "train",
            str(GAN),
            "--out",
            str(out),
            "--max-steps",
            "3",
            "-q",
        ],
        env=_env(toy_site),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("trained to step 3") == 1  # rank 0 reports
    assert [p.name for p in (out / "checkpoints").glob("step_*")] == ["step_0000003"]
