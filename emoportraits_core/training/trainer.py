"""The training loop: one pipeline file, its components trained by the same graph executor as inference.

A step, for a batch from the mixed datasets, for each ``[optimizers.*]`` in file order (e.g. the
generator, then the discriminator):

1. the components this optimizer trains require gradients, every other component does not;
2. the nodes its active losses need are run: on the first optimizer's turn all of them; on a later
   one only those that call a component it trains (or depend on one), every other value reused from
   earlier in the step, detached (so the discriminator sees the prediction detached, as the release);
3. the weighted sum of its losses is back-propagated and the optimizer steps;

then every schedule steps once. Losses say which optimizer they drive and from which step or epoch
they count (the release's epoch gates). Nodes declared ``no_grad`` run without gradients (targets
such as the driver's canonical volume). Trained components are in train mode (wrapped in
``DistributedDataParallel`` under torchrun), the others in eval mode and frozen.

An optimizer with ``steps = K`` (``[optimizers.<name>] steps``, default 1) takes its turn K times in a
row (WGAN-GP's 5 critic steps per generator step, Gulrajani et al. 2017, Algorithm 1). The first
repeat uses the iteration's batch (and what earlier turns computed on it); each further repeat draws a
fresh batch from the sampler and recomputes what its losses need (components it does not train run
frozen, as always), and later turns reuse the last batch's values. Fresh batches, because K steps on
one batch would fit the critic to that one pair of real and generated samples instead of moving it
towards the distance between the distributions, and the generated samples would not even change
(the frozen generator's output is reused). An iteration thus draws ``1 + sum(steps - 1)`` batches;
the sampler's position is checkpointed, so resume stays bit-identical. ``step``, epochs, loss gates
and schedules count iterations (the default epoch is len(first dataset) / batch iterations, however
many batches the repeats draw); a repeated turn logs its last repeat's losses.

Checkpoints (:mod:`.run_files`) hold every network, optimizer, schedule, the sampler's position, the
counters and every RNG: a resumed run takes the same following steps, bit for bit on a CPU in
float32. Rank 0 logs to TensorBoard and saves; a checkpoint is also written on exit, Ctrl-C included.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..checkpoint import load_into, read_checkpoint, split_by_component
from ..config import config_to_dict
from ..hookspecs import Evaluator
from ..pipeline.executor import Executor, build_components
from ..pipeline.graph import Wire
from ..pipeline.resolved import ResolvedPipeline
from ..registry import Registry
from ..types import Appearance, Motion
from .batches import MixedBatches
from .distributed import DistributedContext
from .logger import RunLogger
from .run_files import load_run, save_run
from .state import RngState, TrainState

__all__ = ["Trainer"]


class Trainer:
    """Trains the components of a validated training pipeline.

    Args:
        resolved: a pipeline with ``mode = "train"`` (losses, optimizers, data).
        registry: the registry it was validated against.
        out_dir: where checkpoints (``checkpoints/``) and logs (``tb/``) go.
        device: where to train (under torchrun, each process takes its own GPU).
        resume: a run directory or checkpoint to continue from, bit for bit.
        init: a project checkpoint (e.g. the converted release) whose components initialise ours.
        quiet: no progress bar.
        evaluator: called every ``[train] eval_every`` steps on rank 0 with :attr:`modules`; its
            scalars go to TensorBoard (hook ``emoportraits_training_evaluator``).
    """

    def __init__(
        self,
        resolved: ResolvedPipeline,
        registry: Registry,
        out_dir: str | os.PathLike[str],
        *,
        device: torch.device | str = "cpu",
        resume: str | os.PathLike[str] | None = None,
        init: str | os.PathLike[str] | None = None,
        quiet: bool = False,
        dist: DistributedContext | None = None,
        evaluator: Evaluator | None = None,
    ) -> None:
        self.resolved, self.out_dir, self.quiet = resolved, Path(out_dir), quiet
        self.evaluator = evaluator
        self.dist = dist or DistributedContext(device=torch.device(device))
        self.settings = resolved.spec.train
        torch.manual_seed(self.settings.seed)  # the same initial weights on every process
        self.modules = build_components(resolved, registry)
        self.init_report = self._load_init(init) if init is not None else ""
        self.trained_by = {k: set(o.components) for k, o in resolved.optimizers.items()}
        trained = set().union(*self.trained_by.values())
        for key, module in self.modules.items():
            module.to(self.dist.device).train(key in trained)
            module.requires_grad_(key in trained)
        self.wrapped = {k: self.dist.wrap(m) if k in trained else m for k, m in self.modules.items()}
        self.executor = Executor(resolved, dict(self.modules), self.dist.device)
        self.losses = {
            key: registry.create("loss", loss.entry.name, config=loss.config).to(self.dist.device).eval()
            for key, loss in resolved.losses.items()
        }
        for module in self.losses.values():
            module.requires_grad_(False)
        self.optimizers = {
            key: registry.create("optimizer", o.type, config=o.config).build(
                [p for c in o.components for p in self.modules[c].parameters()]
            )
            for key, o in resolved.optimizers.items()
        }
        self.schedules = {
            key: registry.create("schedule", s.type, config=s.config).build(self.optimizers[s.optimizer])
            for key, s in resolved.schedules.items()
        }
        datasets = {
            k: registry.create("dataset", d.entry.name, config=d.config) for k, d in resolved.data.items()
        }
        self.batches = MixedBatches(
            datasets,
            {k: d.ratio for k, d in resolved.data.items()},
            self.settings.batch_size,
            seed=self.settings.seed,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
            fields=list(resolved.inputs),
        )
        first = next(iter(datasets.values()))
        per_step = self.settings.batch_size * self.dist.world_size
        self.steps_per_epoch = self.settings.steps_per_epoch or max(1, len(first) // per_step)
        self.state, self.rng = TrainState(), RngState()
        if resume is not None:
            self._resume(resume)
        if self.settings.compile:
            for key in trained:
                self.wrapped[key].forward = torch.compile(self.wrapped[key].forward)

    # -- one step ---------------------------------------------------------------------------------------
    def step(self) -> dict[str, Tensor]:
        """One iteration (every optimizer's turn, ``steps`` times each, then every schedule once);
        returns detached loss values."""
        computed = self._next_batch()
        metrics: dict[str, Tensor] = {}
        epoch = self.state.step // self.steps_per_epoch
        for key in self.optimizers:
            active = [
                loss
                for loss in self.resolved.losses.values()
                if loss.optimizer == key and loss.active(self.state.step, epoch)
            ]
            if not active:
                continue
            for repeat in range(self.resolved.optimizers[key].steps):
                if repeat:  # a further step of this optimizer: on a fresh batch (module docstring)
                    computed = self._next_batch()
                metrics |= self._turn(key, active, computed)
        for schedule in self.schedules.values():
            schedule.step()
        self.state.step += 1
        self.state.epoch = self.state.step // self.steps_per_epoch
        self._last = computed
        return metrics

    def _next_batch(self) -> dict[Wire, Any]:
        """The sampler's next batch as the pipeline's input values, on the device."""
        batch = next(self.batches)
        return dict(self.executor.take_inputs(batch, "all", where="the training batch"))

    def _turn(self, key: str, active: list, computed: dict[Wire, Any]) -> dict[str, Tensor]:
        """One step of optimizer ``key`` on its ``active`` losses: run the nodes they need (reusing
        ``computed``, detached, where no trained component is involved), back-propagate, step; add
        the new values to ``computed``. Returns the detached loss values and the weighted total."""
        trained = self.trained_by[key]
        for name, module in self.modules.items():  # only this optimizer's components need grads
            module.requires_grad_(name in trained)
            self.executor.components[name] = self.wrapped[name] if name in trained else module
        step_values = {w: _detach(v) for w, v in computed.items()}
        nodes = self.executor.plan(w for loss in active for w in loss.inputs.values())
        metrics: dict[str, Tensor] = {}
        total = torch.zeros((), device=self.dist.device)
        with self._autocast():
            self.executor.run_nodes(self._fresh(nodes, computed, trained), step_values)
            for loss in active:
                inputs = {p: step_values[w] for p, w in loss.inputs.items()}
                value = self.losses[loss.key].run(**inputs)["loss"].float()
                metrics[f"loss/{loss.key}"] = value.detach()
                total = total + loss.weight * value
        optimizer = self.optimizers[key]
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        metrics[f"total/{key}"] = total.detach()
        for wire, value in step_values.items():
            computed.setdefault(wire, value)
        return metrics

    def _autocast(self) -> contextlib.AbstractContextManager:
        """Autocast in ``[train] precision`` (a no-op in float32)."""
        if self.settings.precision == "float32":
            return contextlib.nullcontext()
        return torch.autocast(self.dist.device.type, dtype=getattr(torch, self.settings.precision))

    def _fresh(self, nodes: list[str], computed: Mapping[Wire, Any], trained: set[str]) -> list[str]:
        """The nodes to (re)run: not computed yet, calling a trained component, or reading a fresh node."""
        fresh: set[str] = set()
        for key in nodes:
            node = self.resolved.nodes[key]
            missing = any(Wire(key, p) not in computed for p in node.outputs)
            reads_fresh = any(not w.is_input and w.source in fresh for w in node.inputs.values())
            if missing or node.component in trained or reads_fresh:
                fresh.add(key)
        return [k for k in nodes if k in fresh]

    # -- the run ----------------------------------------------------------------------------------------
    def fit(self, max_steps: int | None = None) -> TrainState:
        """Train until ``max_steps`` (or ``[train] max_steps``; 0 = until interrupted), checkpointing
        every ``checkpoint_every`` steps and on exit (Ctrl-C included). Returns the final counters;
        :attr:`step_seconds` holds each step's wall time (logging and checkpoints excluded)."""
        limit = max_steps if max_steps is not None else self.settings.max_steps
        every = self.settings
        with RunLogger(
            self.out_dir,
            enabled=self.dist.is_main,
            total=limit or None,
            initial=self.state.step,
            quiet=self.quiet,
        ) as log:
            if self.init_report:
                log.note(self.init_report)
            start, done = time.perf_counter(), 0
            self.step_seconds: list[float] = []
            try:
                while not limit or self.state.step < limit:
                    began = time.perf_counter()
                    metrics = self.step()
                    self.step_seconds.append(time.perf_counter() - began)
                    done += 1
                    speed = done / (time.perf_counter() - start)
                    step = self.state.step
                    if step % every.log_every == 0 or step == limit:
                        scalars = {k: self.dist.all_mean(float(v)) for k, v in metrics.items()}
                        scalars |= {f"lr/{k}": o.param_groups[0]["lr"] for k, o in self.optimizers.items()}
                        log.scalars(scalars | {"speed/steps_per_second": speed}, step)
                        log.progress(scalars, speed)
                    else:
                        log.progress({}, speed)
                    if every.image_every and step % every.image_every == 0:
                        log.images(self._images(), step)
                    if every.eval_every and step % every.eval_every == 0:
                        if self.evaluator is not None and self.dist.is_main:
                            log.scalars(dict(self.evaluator(self.modules)), step)
                        self.dist.barrier()  # the other ranks wait for rank 0's evaluation
                    if step % every.checkpoint_every == 0:
                        self.save()
            finally:
                if done:
                    self.save()
        return self.state

    def save(self) -> Path | None:
        """Write a checkpoint of the current step (rank 0; the others wait)."""
        path = None
        if self.dist.is_main:
            state = {
                "trainer": self.state.state_dict(),
                "schedules": {k: _plain(s.state_dict()) for k, s in self.schedules.items()},
                "sampler": self.batches.state_dict(),
                "rng": self.rng.state_dict(),
                "pipeline": {"file": self.resolved.path, "overrides": list(self.resolved.spec.overrides)},
                "distributed": {"world_size": self.dist.world_size},
            }
            components = {
                k: {"kind": c.kind, "name": c.entry.name, "config": config_to_dict(c.config)}
                for k, c in self.resolved.components.items()
            }
            path = save_run(
                self.out_dir,
                self.state.step,
                self.modules,
                self.optimizers,
                state,
                components=components,
                keep=self.settings.keep_checkpoints,
            )
        self.dist.barrier()
        return path

    def _resume(self, path: str | os.PathLike[str]) -> None:
        meta = load_run(path, self.modules, self.optimizers)
        self.state.load_state_dict(meta["trainer"])
        for key, schedule in self.schedules.items():
            state = dict(meta["schedules"][key])
            if hasattr(schedule, "lr_lambdas"):  # rebuilt from the config, not saved
                state.setdefault("lr_lambdas", [None] * len(schedule.lr_lambdas))
            schedule.load_state_dict(state)
        self.batches.load_state_dict(meta["sampler"])
        self.rng.load_state_dict(meta["rng"])

    def _load_init(self, path: str | os.PathLike[str]) -> str:
        """Initialise the components found in a project checkpoint (each strictly); say which."""
        states = split_by_component(read_checkpoint(path).tensors)
        loaded = [k for k in self.modules if k in states]
        for key in loaded:
            load_into(self.modules[key], states[key], where=f"{path} [component {key}]")
        fresh = [k for k, m in self.modules.items() if k not in states and m.state_dict()]
        note = f"--init {path}: loaded {', '.join(loaded) or 'nothing'}"
        return note + (f"; randomly initialised: {', '.join(fresh)}" if fresh else "")

    def _images(self) -> dict[str, Tensor]:
        """The image-typed pipeline inputs and outputs of the last step."""
        r, values = self.resolved, getattr(self, "_last", {})
        wires = {k: Wire(k) for k, s in r.inputs.items() if s.type == "image"}
        wires |= {k: w for k, w in r.outputs.items() if r.output_types[k] == "image"}
        return {k: values[w] for k, w in wires.items() if w in values}


def _detach(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.detach()
    if isinstance(value, Motion | Appearance):
        return value.map(lambda t: t.detach())
    if isinstance(value, list | tuple):
        return type(value)(_detach(v) for v in value)
    return value


def _plain(state: Mapping[str, Any]) -> dict[str, Any]:
    """A schedule's state dict without its (rebuilt, not saved) lr lambdas."""
    return {k: v for k, v in state.items() if k != "lr_lambdas"}
