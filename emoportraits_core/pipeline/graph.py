"""The pipeline graph: wires, their resolution, topological order and staging.

A wire names where a value comes from:

- ``"source"``: the pipeline input ``source``, or the only output of node ``source``;
- ``"warp.volume"``: output port ``volume`` of node ``warp``.

Input names and node names share one namespace, so a bare name is never ambiguous.

Staging: a node is **static** when everything it depends on comes from non-stream inputs (for
example the source photo's branch), so it runs once per :meth:`PipelineRunner.prepare`; every other
node is **stream** and runs once per frame batch. This is how "encode the source once" is expressed
without special cases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from ..errors import did_you_mean

__all__ = ["STAGES", "CycleError", "Wire", "WireError", "resolve_wire", "stages_of", "topological_order"]

STAGES = ("static", "stream")


@attrs.frozen
class Wire:
    """A resolved wire: pipeline input ``source`` (``port`` None) or output ``port`` of node ``source``."""

    source: str
    port: str | None = None

    @property
    def is_input(self) -> bool:
        return self.port is None

    def __str__(self) -> str:
        return self.source if self.port is None else f"{self.source}.{self.port}"


class WireError(Exception):
    """A wire that does not resolve; the message says why (the caller adds where it was)."""


class CycleError(Exception):
    """The nodes form a cycle; ``cycle`` lists it with the first node repeated at the end."""

    def __init__(self, cycle: Sequence[str]) -> None:
        super().__init__(" -> ".join(cycle))
        self.cycle = tuple(cycle)


def resolve_wire(
    text: str, inputs: Mapping[str, str], node_outputs: Mapping[str, Mapping[str, str]]
) -> tuple[Wire, str]:
    """Resolve ``text`` against the pipeline inputs (name -> type) and the nodes' output ports.

    Returns the wire and the port type it carries; raises :class:`WireError` naming what exists.
    """
    head, dot, port = text.strip().partition(".")
    nodes = list(node_outputs)
    if not dot:
        if head in inputs:
            return Wire(head), inputs[head]
        if head in node_outputs:
            outs = node_outputs[head]
            if len(outs) == 1:
                ((name, type_),) = outs.items()
                return Wire(head, name), type_
            raise WireError(
                f"node '{head}' has {len(outs)} outputs ({', '.join(outs) or 'none'}); "
                f"name one, e.g. '{head}.{next(iter(outs), 'port')}'"
            )
        everything = [*inputs, *nodes]
        raise WireError(
            f"unknown input or node '{head}'; inputs: {', '.join(inputs) or '(none)'}; "
            f"nodes: {', '.join(nodes) or '(none)'}{did_you_mean(head, everything)}"
        )
    if head not in node_outputs:
        hint = f" ('{head}' is a pipeline input: write just '{head}')" if head in inputs else ""
        raise WireError(
            f"unknown node '{head}'{hint}; available: {', '.join(nodes) or '(none)'}"
            f"{'' if hint else did_you_mean(head, nodes)}"
        )
    outs = node_outputs[head]
    if port not in outs:
        raise WireError(
            f"node '{head}' has no output '{port}'; its outputs: {', '.join(outs) or '(none)'}"
            f"{did_you_mean(port, outs)}"
        )
    return Wire(head, port), outs[port]


def topological_order(deps: Mapping[str, Sequence[str]]) -> list[str]:
    """Order the keys of ``deps`` (node -> nodes it reads from) so that every node follows its
    dependencies; ties keep the order of ``deps``. Raises :class:`CycleError` on a cycle."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in deps:
        if state.get(start) == 2:
            continue
        path: list[str] = [start]
        stack = [iter(deps[start])]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                done = path.pop()
                state[done] = 2
                order.append(done)
            elif state.get(nxt) == 1:
                raise CycleError([*path[path.index(nxt) :], nxt])
            elif state.get(nxt) is None:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(deps[nxt]))
    return order


def stages_of(
    order: Sequence[str], wires: Mapping[str, Sequence[Wire]], stream_inputs: Sequence[str]
) -> dict[str, str]:
    """``node -> "static" | "stream"``: stream when any wire reaches a stream input, directly or not.

    Args:
        order: the nodes in topological order.
        wires: node -> the wires feeding it.
        stream_inputs: names of the pipeline inputs with ``stream = true``.
    """
    stage: dict[str, str] = {}
    for node in order:
        streamed = any(
            (w.source in stream_inputs) if w.is_input else stage[w.source] == "stream" for w in wires[node]
        )
        stage[node] = "stream" if streamed else "static"
    return stage
