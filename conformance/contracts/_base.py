"""What a conformance check is, and the context it runs in.

A :class:`Check` is a named function ``fn(ctx)`` that raises :class:`ContractViolation` (an
``AssertionError``) when the component breaks the contract, :class:`NotApplicable` when the
contract does not concern it (e.g. a batch check on a loss, whose output has no batch), and
returns None otherwise. ``ctx`` builds fresh instances with ``ctx.build(seed)`` and runs
hypothesis properties with ``ctx.given(...)``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import hypothesis
import torch
from hypothesis import HealthCheck, Phase

__all__ = [
    "DEFAULT_MAX_EXAMPLES",
    "Check",
    "CheckContext",
    "ContractViolation",
    "NotApplicable",
    "component_label",
]

#: hypothesis examples per drawn property unless the caller says otherwise.
DEFAULT_MAX_EXAMPLES = 10

# Networks are slow next to hypothesis' expectations; that is not the component's fault.
_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]


class ContractViolation(AssertionError):
    """A component breaks its kind's contract; the message says which check and what was seen."""


class NotApplicable(Exception):
    """The check does not concern this component (reported as a skip with the reason)."""


@attrs.frozen
class CheckContext:
    """What a check gets: a factory of fresh components, a scratch directory and hypothesis settings.

    Attributes:
        make: ``make() -> component``, a fresh instance each call (random init from torch's RNG).
        tmp_dir: an empty directory that lives as long as the check.
        max_examples: hypothesis examples per drawn property.
        built: class names of the components built so far (to name the component in messages).
    """

    make: Callable[[], Any]
    tmp_dir: Path
    max_examples: int = DEFAULT_MAX_EXAMPLES
    built: list[str] = attrs.field(factory=list, eq=False, repr=False)

    def build(self, seed: int = 0, *, train: bool = False) -> Any:
        """A fresh component whose parameters are drawn with torch seed ``seed``, in eval mode
        unless ``train``."""
        torch.manual_seed(seed)
        component = self.make()
        self.built.append(type(component).__name__)
        if hasattr(component, "train"):
            component.train(train)
        return component

    def given(self, **strategies: Any) -> Callable[[Callable[..., None]], Callable[[], None]]:
        """``hypothesis.given`` with this context's settings, for properties that draw their inputs:
        derandomised (reproducible), no example database, no deadline, and no shrinking (inputs are
        seeded tensors; the first failing example is reported as found)."""

        def decorate(fn: Callable[..., None]) -> Callable[[], None]:
            return hypothesis.settings(
                max_examples=self.max_examples,
                deadline=None,
                database=None,
                derandomize=True,
                phases=(Phase.explicit, Phase.generate),
                suppress_health_check=_SUPPRESSED,
            )(hypothesis.given(**strategies)(fn))

        return decorate


@attrs.frozen
class Check:
    """One contract check.

    Attributes:
        name: ``snake_case``, unique over all kinds (it names the pytest item).
        fn: ``fn(ctx: CheckContext) -> None``; raises ContractViolation or NotApplicable.
        kind: the component kind it belongs to, or ``"*"`` for the generic checks.
        description: one line (default: the first paragraph of ``fn``'s docstring).
    """

    name: str
    fn: Callable[[CheckContext], None] = attrs.field(repr=False)
    kind: str = "*"
    description: str = ""

    def __attrs_post_init__(self) -> None:
        if not self.description:  # the docstring's first paragraph, on one line
            paragraph = (self.fn.__doc__ or "").strip().split("\n\n")[0]
            object.__setattr__(self, "description", " ".join(paragraph.split()))

    @property
    def doc(self) -> str:
        """The full docstring of the check function."""
        return (self.fn.__doc__ or "").strip()

    def run(self, make: Callable[[], Any], *, max_examples: int | None = None) -> None:
        """Run the check on components built by ``make``; torch's global RNG state is restored after.

        Raises:
            ContractViolation: the contract is broken (an AssertionError).
            NotApplicable: the check does not concern this component.
        """
        with tempfile.TemporaryDirectory(prefix=f"conformance-{self.name}-") as tmp:
            ctx = CheckContext(make, Path(tmp), max_examples or DEFAULT_MAX_EXAMPLES)
            try:
                with torch.random.fork_rng(devices=[]):
                    self.fn(ctx)
            except ContractViolation as exc:
                raise _labelled(exc, f"{self.name} failed on {component_label(make, ctx)}") from exc


def component_label(make: Callable[[], Any], ctx: CheckContext | None = None) -> str:
    """How messages name the component: ``make.conformance_label`` (set by the runner, e.g.
    ``warper 'toy_warper'``), else the class of the components ``make`` builds."""
    label = getattr(make, "conformance_label", None)
    if label:
        return str(label)
    if isinstance(make, type):
        return make.__name__
    if ctx is not None and ctx.built:
        return ctx.built[-1]
    return "the component"


def _labelled(exc: ContractViolation, prefix: str) -> ContractViolation:
    """``exc`` with its message prefixed by ``prefix`` (check and component), notes kept."""
    text = str(exc)
    out = ContractViolation(text if text.startswith(prefix) else f"{prefix}: {text}")
    for note in getattr(exc, "__notes__", []):
        out.add_note(note)
    return out


def check(name: str, kind: str = "*") -> Callable[[Callable[[CheckContext], None]], Check]:
    """Decorator: turn ``fn(ctx)`` into a :class:`Check` called ``name``."""

    def wrap(fn: Callable[[CheckContext], None]) -> Check:
        return Check(name, fn, kind)

    return wrap
