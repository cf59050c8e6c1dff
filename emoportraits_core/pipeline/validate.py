"""Checking a :class:`PipelineSpec` against the registry, before anything is built or loaded.

:func:`validate_pipeline` stops at the first problem with one line naming the file, the table and
key (``[nodes.render] inputs.volume``), what was seen and what would be valid, e.g.::

    tests/pipelines/typo.toml: [nodes.render] inputs.volume: unknown node 'warpd'; available:
    encode, warp; did you mean 'warp'?
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import attrs

from ..component import Component
from ..errors import PipelineError, RegistryError, did_you_mean
from ..interfaces import Driver
from ..ports import PORT_TYPES
from ..registry import ComponentEntry, Registry
from .graph import CycleError, Wire, WireError, resolve_wire, stages_of, topological_order
from .resolved import (
    ResolvedComponent,
    ResolvedData,
    ResolvedLoss,
    ResolvedNode,
    ResolvedOptimizer,
    ResolvedPipeline,
    ResolvedSchedule,
)
from .schema import PipelineSpec
from .training import make_dataset_config, make_optimizer_config, make_schedule_config

__all__ = ["known_port_types", "validate_pipeline"]


def validate_pipeline(spec: PipelineSpec, registry: Registry | None = None) -> ResolvedPipeline:
    """Resolve and check every part of ``spec``; raise on the first problem.

    Checks: component kinds, registry names and configs; node components, port names, wiring and
    port types; cycles; outputs; losses, optimizers, schedules and data ratios. Builds no component
    and reads no weights.

    Raises:
        PipelineError: a structural problem (unknown name, missing wire, type mismatch, cycle...).
        ConfigError: a component, loss, optimizer or schedule config is invalid.
    """
    if registry is None:
        from ..plugin_manager import get_registry

        registry = get_registry()
    return _Validator(spec, registry).run()


def known_port_types(registry: Registry) -> set[str]:
    """The standard port types plus every type a registered component class declares."""
    types = set(PORT_TYPES)
    for entry in registry.list():
        cls = entry.component_class
        types.update(getattr(cls, "inputs", {}).values())
        types.update(getattr(cls, "outputs", {}).values())
    return types


class _Validator:
    def __init__(self, spec: PipelineSpec, registry: Registry) -> None:
        self.spec, self.registry = spec, registry
        self.node_outputs: dict[str, dict[str, str]] = {}

    def fail(self, where: str, message: str) -> PipelineError:
        return PipelineError(f"{self.spec.path}: {where}: {message}")

    def run(self) -> ResolvedPipeline:
        spec = self.spec
        self._check_inputs()
        components = {k: self._component(k) for k in spec.components}
        nodes = self._nodes(components)
        self._check_drivers(components)
        input_types = {k: s.type for k, s in spec.inputs.items()}
        outputs: dict[str, Wire] = {}
        output_types: dict[str, str] = {}
        for name, text in spec.outputs.items():
            outputs[name], output_types[name] = self._resolve(f"[outputs] {name}", text, input_types)
        losses = {k: self._loss(k) for k in spec.losses}
        optimizers = self._optimizers()
        losses = self._assign_optimizers(losses, optimizers)
        schedules = self._schedules(optimizers)
        self._check_mode(outputs, losses, optimizers)
        return ResolvedPipeline(
            spec, components, nodes, outputs, output_types, losses, optimizers, schedules, self._data()
        )

    # -- inputs and components --------------------------------------------------------------------
    def _check_inputs(self) -> None:
        known = known_port_types(self.registry)
        for key, inp in self.spec.inputs.items():
            if inp.type not in known:
                raise self.fail(
                    f"[inputs.{key}] type",
                    f"unknown port type '{inp.type}'; known types: {', '.join(sorted(known))}"
                    f"{did_you_mean(inp.type, known)}",
                )
            if key in self.spec.nodes:
                raise self.fail(
                    f"[nodes.{key}]",
                    f"'{key}' is also a pipeline input; inputs and nodes need distinct names",
                )

    def _entry(self, where: str, kind: str, name: str) -> ComponentEntry:
        try:
            self.registry.get_kind(kind)
        except RegistryError as exc:
            raise self.fail(f"{where} kind", str(exc)) from None
        if not self.registry.has(kind, name):
            others = [k.name for k in self.registry.kinds() if self.registry.has(k.name, name)]
            if others:
                raise self.fail(
                    f"{where} name", f"'{name}' is a {others[0]}, not a {kind}; set kind = \"{others[0]}\""
                )
        try:
            entry = self.registry.get(kind, name)
        except RegistryError as exc:
            raise self.fail(f"{where} name", str(exc)) from None
        cls = entry.component_class
        if cls is None or not issubclass(cls, Component):
            raise self.fail(
                f"{where} name",
                f"{kind} '{name}' is registered with a factory that is not a Component class, so its "
                "ports are unknown before it is built; pipelines need a Component subclass",
            )
        return entry

    def _component(self, key: str) -> ResolvedComponent:
        c = self.spec.components[key]
        where = f"[components.{key}]"
        entry = self._entry(where, c.kind, c.name)
        config = self.registry.make_config(
            entry.kind, entry.name, c.config, where=f"{self.spec.path} [components.{key}.config]"
        )
        return ResolvedComponent(key, c.kind, entry, config)

    def _check_drivers(self, components: Mapping[str, ResolvedComponent]) -> None:
        """A driver's output ports feed the stream inputs of the same names and types; with any
        driver declared, every stream input is fed by exactly one."""
        fed: dict[str, str] = {}
        inputs = self.spec.inputs
        for key, rc in components.items():
            cls = rc.entry.component_class
            if not issubclass(cls, Driver):
                continue
            for port, type_ in cls.outputs.items():
                where = f"[components.{key}]"
                what = f"driver '{rc.entry.name}'"
                stream = [k for k, s in inputs.items() if s.stream]
                if port not in inputs or not inputs[port].stream:
                    raise self.fail(
                        where,
                        f"{what} outputs '{port}' ({type_}), which must feed a stream input of that name; "
                        f"stream inputs: {', '.join(stream) or '(none)'}; add [inputs.{port}] "
                        f'type = "{type_}", stream = true',
                    )
                if inputs[port].type != type_:
                    raise self.fail(
                        where,
                        f"type mismatch: {what} outputs '{port}' as {type_} but [inputs.{port}] is {inputs[port].type}",
                    )
                if port in fed:
                    raise self.fail(
                        where, f"stream input '{port}' is already fed by [components.{fed[port]}]"
                    )
                fed[port] = key
        if fed:
            for name, inp in inputs.items():
                if inp.stream and name not in fed:
                    raise self.fail(
                        f"[inputs.{name}]",
                        f"stream input '{name}' is fed by no driver; the drivers feed: {', '.join(fed)}",
                    )

    # -- nodes ------------------------------------------------------------------------------------------
    def _nodes(self, components: Mapping[str, ResolvedComponent]) -> dict[str, ResolvedNode]:
        spec = self.spec
        if not spec.nodes:
            raise PipelineError(
                f"{spec.path}: no [nodes.<name>] tables; a pipeline needs at least one node that calls a component"
            )
        for key, node in spec.nodes.items():
            if node.component not in components:
                raise self.fail(
                    f"[nodes.{key}] component",
                    f"unknown component '{node.component}'; available: "
                    f"{', '.join(components) or '(none)'}{did_you_mean(node.component, components)}",
                )
            cls = components[node.component].entry.component_class
            if issubclass(cls, Driver):
                raise self.fail(
                    f"[nodes.{key}] component",
                    f"'{node.component}' is a driver: drivers produce stream inputs and are not called as nodes",
                )
            self.node_outputs[key] = dict(cls.outputs)
        input_types = {k: s.type for k, s in spec.inputs.items()}
        wired: dict[str, tuple[dict[str, Wire], dict[str, str]]] = {}
        for key, node in spec.nodes.items():
            rc = components[node.component]
            wired[key] = self._wire_ports(f"[nodes.{key}]", rc.entry, node.inputs, input_types)
        deps = {k: [w.source for w in wired[k][0].values() if not w.is_input] for k in spec.nodes}
        try:
            order = topological_order(deps)
        except CycleError as exc:
            first, second = exc.cycle[0], exc.cycle[1]
            port = next(p for p, w in wired[first][0].items() if not w.is_input and w.source == second)
            raise self.fail(f"[nodes.{first}] inputs.{port}", f"cycle {exc}") from None
        stages = stages_of(order, {k: list(w[0].values()) for k, w in wired.items()}, self._stream_inputs())
        return {
            k: ResolvedNode(
                k,
                spec.nodes[k].component,
                wired[k][0],
                wired[k][1],
                self.node_outputs[k],
                stages[k],
                spec.nodes[k].no_grad,
            )
            for k in order
        }

    def _stream_inputs(self) -> list[str]:
        return [k for k, s in self.spec.inputs.items() if s.stream]

    def _resolve(self, where: str, text: str, input_types: Mapping[str, str]) -> tuple[Wire, str]:
        try:
            return resolve_wire(text, input_types, self.node_outputs)
        except WireError as exc:
            raise self.fail(where, str(exc)) from None

    def _wire_ports(
        self, where: str, entry: ComponentEntry, wires: Mapping[str, str], input_types: Mapping[str, str]
    ) -> tuple[dict[str, Wire], dict[str, str]]:
        """Check that ``wires`` covers exactly the class's input ports, with matching types."""
        ports = dict(entry.component_class.inputs)
        what = f"{entry.kind} '{entry.name}'"
        for port in wires:
            if port not in ports:
                raise self.fail(
                    f"{where} inputs.{port}",
                    f"{what} has no input port '{port}'; its inputs: {', '.join(ports) or '(none)'}"
                    f"{did_you_mean(port, ports)}",
                )
        out: dict[str, Wire] = {}
        for port, want in ports.items():
            if port not in wires:
                raise self.fail(
                    f"{where} inputs",
                    f"port '{port}' ({want}) of {what} is not wired; add inputs.{port} = "
                    '"<input>" or "<node>.<port>"',
                )
            wire, got = self._resolve(f"{where} inputs.{port}", wires[port], input_types)
            if got != want:
                raise self.fail(
                    f"{where} inputs.{port}",
                    f"type mismatch: '{wires[port]}' carries {got} but port '{port}' of {what} expects {want}",
                )
            out[port] = wire
        return out, ports

    # -- training sections --------------------------------------------------------------------------------
    def _loss(self, key: str) -> ResolvedLoss:
        loss = self.spec.losses[key]
        where = f"[losses.{key}]"
        entry = self._entry(where, "loss", loss.name)
        config = self.registry.make_config(
            "loss", entry.name, loss.config, where=f"{self.spec.path} [losses.{key}.config]"
        )
        input_types = {k: s.type for k, s in self.spec.inputs.items()}
        wires, types = self._wire_ports(where, entry, loss.inputs, input_types)
        return ResolvedLoss(key, entry, config, loss.weight, wires, types)

    def _assign_optimizers(
        self, losses: dict[str, ResolvedLoss], optimizers: Mapping[str, ResolvedOptimizer]
    ) -> dict[str, ResolvedLoss]:
        """Each loss drives the optimizer it names, or the first one declared."""
        out = {}
        for key, loss in losses.items():
            name = self.spec.losses[key].optimizer
            if name and name not in optimizers:
                raise self.fail(
                    f"[losses.{key}] optimizer",
                    f"unknown optimizer '{name}'; available: {', '.join(optimizers) or '(none)'}"
                    f"{did_you_mean(name, optimizers)}",
                )
            out[key] = attrs.evolve(
                loss,
                optimizer=name or next(iter(optimizers), ""),
                start_step=self.spec.losses[key].start_step,
                start_epoch=self.spec.losses[key].start_epoch,
            )
        return out

    def _optimizers(self) -> dict[str, ResolvedOptimizer]:
        out: dict[str, ResolvedOptimizer] = {}
        owner: dict[str, str] = {}
        components = list(self.spec.components)
        for key, opt in self.spec.optimizers.items():
            where = f"[optimizers.{key}]"
            if not opt.components:
                raise self.fail(
                    f"{where} components", "empty list; name the components this optimizer trains"
                )
            for i, name in enumerate(opt.components):
                if name not in components:
                    raise self.fail(
                        f"{where} components[{i}]",
                        f"unknown component '{name}'; available: {', '.join(components)}"
                        f"{did_you_mean(name, components)}",
                    )
                if name in owner:
                    raise self.fail(
                        f"{where} components[{i}]",
                        f"component '{name}' is already trained by [optimizers.{owner[name]}]",
                    )
                owner[name] = key
            config = make_optimizer_config(
                opt.type, opt.params, where=f"{self.spec.path} {where}", registry=self.registry
            )
            out[key] = ResolvedOptimizer(key, opt.type, opt.components, config, opt.steps)
        return out

    def _schedules(self, optimizers: Mapping[str, ResolvedOptimizer]) -> dict[str, ResolvedSchedule]:
        out: dict[str, ResolvedSchedule] = {}
        scheduled: dict[str, str] = {}
        for key, sch in self.spec.schedules.items():
            where = f"[schedules.{key}]"
            if sch.optimizer not in optimizers:
                raise self.fail(
                    f"{where} optimizer",
                    f"unknown optimizer '{sch.optimizer}'; available: {', '.join(optimizers) or '(none)'}"
                    f"{did_you_mean(sch.optimizer, optimizers)}",
                )
            if sch.optimizer in scheduled:
                raise self.fail(
                    f"{where} optimizer",
                    f"optimizer '{sch.optimizer}' is already scheduled by [schedules.{scheduled[sch.optimizer]}]",
                )
            scheduled[sch.optimizer] = key
            config = make_schedule_config(
                sch.type, sch.params, where=f"{self.spec.path} {where}", registry=self.registry
            )
            out[key] = ResolvedSchedule(key, sch.type, sch.optimizer, config)
        return out

    def _data(self) -> dict[str, ResolvedData]:
        data = self.spec.data
        entries, configs = {}, {}
        for key, d in data.items():
            where = f"{self.spec.path} [data.{key}]"
            configs[key] = make_dataset_config(d.name, d.config, where=where, registry=self.registry)
            entries[key] = self.registry.get("dataset", d.name)
        for key, entry in entries.items():
            self._check_dataset_fields(key, entry)
        given = [k for k, d in data.items() if d.ratio is not None]
        if not given:
            return {k: ResolvedData(k, entries[k], configs[k], 1.0 / len(data)) for k in data}
        missing = [k for k in data if k not in given]
        if missing:
            raise self.fail(f"[data.{missing[0]}] ratio", "missing; give every data source a ratio, or none")
        total = sum(d.ratio for d in data.values())  # type: ignore[misc]
        if not math.isclose(total, 1.0, rel_tol=0, abs_tol=1e-6):
            listing = ", ".join(f"{k}={d.ratio:g}" for k, d in data.items())
            raise self.fail("[data] ratio", f"the ratios must sum to 1, got {total:g} ({listing})")
        return {k: ResolvedData(k, entries[k], configs[k], float(d.ratio)) for k, d in data.items()}  # type: ignore[arg-type]

    def _check_dataset_fields(self, key: str, entry: ComponentEntry) -> None:
        """Every pipeline input is a field of every dataset's items, with the same type (except
        ``data_index``, which the trainer's batches carry)."""
        fields = dict(getattr(entry.factory, "outputs", {})) | {"data_index": "flags"}
        for name, inp in self.spec.inputs.items():
            if name not in fields:
                raise self.fail(
                    f"[data.{key}] name",
                    f"dataset '{entry.name}' gives no field '{name}' for [inputs.{name}]; its fields: "
                    f"{', '.join(fields) or '(none)'}{did_you_mean(name, fields)}",
                )
            if fields[name] != inp.type:
                raise self.fail(
                    f"[data.{key}] name",
                    f"type mismatch: dataset '{entry.name}' gives '{name}' as {fields[name]} but "
                    f"[inputs.{name}] is {inp.type}",
                )

    def _check_mode(self, outputs: Mapping, losses: Mapping, optimizers: Mapping) -> None:
        path = self.spec.path
        if self.spec.mode == "inference" and not outputs:
            raise PipelineError(
                f'{path}: [outputs] is empty; name at least one output, e.g. image = "render.image"'
            )
        if self.spec.mode == "train":
            if not losses:
                raise PipelineError(f'{path}: [pipeline] mode = "train" needs at least one [losses.<name>]')
            if not optimizers:
                raise PipelineError(
                    f'{path}: [pipeline] mode = "train" needs at least one [optimizers.<name>]'
                )
