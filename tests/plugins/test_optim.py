"""Optimizers and schedules as registry kinds: built from pipeline configs, resumable exactly."""

from __future__ import annotations

import itertools
import math

import pytest
import torch


def _optimizer(registry, name="adamw", **config):
    param = torch.nn.Parameter(torch.ones(3))
    factory = registry.create("optimizer", name, **config)
    return factory.build([param]), param


def test_optimizers_are_registered_kinds_with_their_configs(registry):
    assert [e.name for e in registry.list("optimizer")] == ["adam", "adamw", "sgd"]
    opt, _ = _optimizer(registry, lr=2e-4, betas=(0.5, 0.999))
    assert isinstance(opt, torch.optim.AdamW)
    assert opt.param_groups[0]["betas"] == (0.5, 0.999) and opt.param_groups[0]["weight_decay"] == 0.01


def _lrs(registry, schedule: str, steps: int, **config) -> list[float]:
    opt, _ = _optimizer(registry, lr=1.0)
    sched = registry.create("schedule", schedule, **config).build(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_cosine_goes_from_lr_to_min_lr_and_stays_there(registry):
    lrs = _lrs(registry, "cosine", 14, total_steps=10, min_lr=0.1)
    assert lrs[0] == pytest.approx(1.0)
    assert lrs[5] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lrs[10:] == pytest.approx([0.1] * 4)
    assert all(a >= b for a, b in itertools.pairwise(lrs))


def test_warmup_then_schedule(registry):
    lrs = _lrs(registry, "cosine", 6, total_steps=10, warmup_steps=4)
    assert lrs[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0]) and lrs[4] == pytest.approx(1.0)
    assert _lrs(registry, "step", 7, step_size=3, gamma=0.5) == pytest.approx([1, 1, 1, 0.5, 0.5, 0.5, 0.25])
    assert _lrs(registry, "linear_warmup", 4, warmup_steps=2) == pytest.approx([0.5, 1, 1, 1])


def test_schedule_state_resumes_exactly(registry):
    """Saved after k steps and loaded into a fresh optimizer + schedule, the lr sequence continues."""
    want = _lrs(registry, "cosine", 9, total_steps=8, min_lr=0.01, warmup_steps=2)
    opt, _ = _optimizer(registry, lr=1.0)
    sched = registry.create("schedule", "cosine", total_steps=8, min_lr=0.01, warmup_steps=2).build(opt)
    for _ in range(4):
        opt.step()
        sched.step()
    state = (opt.state_dict(), sched.state_dict())
    opt2, _ = _optimizer(registry, lr=1.0)
    sched2 = registry.create("schedule", "cosine", total_steps=8, min_lr=0.01, warmup_steps=2).build(opt2)
    opt2.load_state_dict(state[0])
    sched2.load_state_dict(state[1])
    got = []
    for _ in range(5):
        got.append(opt2.param_groups[0]["lr"])
        opt2.step()
        sched2.step()
    assert got == want[4:]
