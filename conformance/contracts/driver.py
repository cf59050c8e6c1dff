"""Checks of kind ``driver`` (not called like a module: ``probe(source)`` and ``stream(source, batch_size)``).

A driver supplies its own small test sources through a method (a classmethod works too), which the
suite calls on an instance with an empty scratch directory::

    class MyDriver(Driver):
        def conformance_sources(self, tmp_dir: Path) -> list[Path]:
            \"\"\"Write a few short, valid sources (e.g. 1 and 7 frames) under tmp_dir; return their paths.\"\"\"

Include a source whose length is not a multiple of small batch sizes, so that a dropped or padded
last batch shows. A second, optional hook lets the suite check that a stream never reads the whole
source first (without it that check is not applicable)::

    class MyDriver(Driver):
        def conformance_long_source(self, tmp_dir: Path, frames: int) -> Path:
            \"\"\"Write a valid source of exactly ``frames`` frames under tmp_dir (content may repeat;
            keep it quick) and return its path.\"\"\"

``driver_bounded_memory`` (:mod:`.driver_memory`) asks for a 64-frame source and a long one (about
64 MiB of frames as yielded, 256 to 2**20 frames), and compares the peak resident memory (Linux
``VmHWM``, reset before each) of opening ``stream(source, 1)`` and taking its first batch: the
long source may cost at most 16 MiB more. Per-batch and look-ahead buffers cancel out; reading the
whole source first does not. A first excess is measured again before it is reported.

A Motion a driver yields must hold proper rotations (:meth:`~emoportraits_core.Motion.check_rotation`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from emoportraits_core.interfaces import StreamInfo
from emoportraits_core.types import batch_size_of, concat_batches

from ._base import CheckContext, ContractViolation, check
from ._values import assert_same
from .generic_ports import check_value_against_spec, specs_of

__all__ = ["DRIVER_CHECKS", "driver_sources"]


def driver_sources(ctx: CheckContext, driver: Any) -> list[Path]:
    """The driver's test sources, written under the check's scratch directory."""
    provide = getattr(driver, "conformance_sources", None)
    if not callable(provide):
        raise ContractViolation(
            f"{type(driver).__name__} provides no test sources: define the method "
            "conformance_sources(self, tmp_dir) -> list[Path] (see emoportraits_conformance.contracts.driver)"
        )
    sources = [Path(p) for p in provide(ctx.tmp_dir)]
    if not sources:
        raise ContractViolation(f"{type(driver).__name__}.conformance_sources() returned no sources")
    return sources


def _read(driver: Any, source: Path, batch_size: int) -> list[Mapping[str, Any]]:
    try:
        stream = driver.stream(source, batch_size)
        if not isinstance(stream, Iterator):
            raise ContractViolation(f"stream() must return an iterator (lazy), got {type(stream).__name__}")
        return list(stream)
    except ContractViolation:
        raise
    except Exception as exc:
        raise ContractViolation(
            f"stream({source.name}, {batch_size}) raised {type(exc).__name__}: {exc}"
        ) from exc


def _probe(driver: Any, source: Path) -> StreamInfo:
    try:
        info = driver.probe(source)
    except Exception as exc:
        raise ContractViolation(f"probe({source.name}) raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(info, StreamInfo):
        raise ContractViolation(f"probe({source.name}) must return a StreamInfo, got {type(info).__name__}")
    return info


@check("driver_one_item_per_frame", "driver")
def driver_one_item_per_frame(ctx: CheckContext) -> None:
    """Every batch holds exactly the declared output ports, with one item per frame (the same batch size
    across ports, between 1 and batch_size), and the batch sizes sum to probe().num_frames."""
    driver = ctx.build(0)
    _, outs = specs_of(driver)
    for source in driver_sources(ctx, driver):
        info = _probe(driver, source)
        for batch_size in (1, 3):
            total = 0
            for i, batch in enumerate(_read(driver, source, batch_size)):
                where = f"{source.name}, batch_size={batch_size}, batch {i}"
                if not isinstance(batch, Mapping) or set(batch) != set(outs):
                    got = sorted(batch) if isinstance(batch, Mapping) else type(batch).__name__
                    raise ContractViolation(f"{where}: yielded {got}, declared outputs {sorted(outs)}")
                sizes = {port: batch_size_of(value) for port, value in batch.items()}
                if len(set(sizes.values())) != 1 or not 1 <= next(iter(sizes.values())) <= batch_size:
                    raise ContractViolation(
                        f"{where}: batch sizes {sizes}; expected one size in [1, {batch_size}]"
                    )
                for port, value in batch.items():
                    check_value_against_spec(f"{where}, '{port}'", value, outs[port], sizes[port], None)
                total += next(iter(sizes.values()))
            if info.num_frames is not None and total != info.num_frames:
                raise ContractViolation(
                    f"{source.name}: batches of {batch_size} hold {total} frames, probe() says {info.num_frames}"
                )


def _concat(batches: list[Mapping[str, Any]], source: Path, batch_size: int) -> dict[str, Any]:
    if not batches:
        raise ContractViolation(f"{source.name}: stream(batch_size={batch_size}) yielded nothing")
    try:
        return {port: concat_batches([b[port] for b in batches]) for port in batches[0]}
    except Exception as exc:
        raise ContractViolation(f"{source.name}: cannot concatenate the batches: {exc}") from exc


@check("driver_streaming_equals_batch", "driver")
def driver_streaming_equals_batch(ctx: CheckContext) -> None:
    """Concatenating the batches gives the same values for batch_size 1, a drawn k and one batch holding
    every frame (no per-batch normalisation, no dropped, padded or repeated frames)."""
    driver = ctx.build(0)
    sources = driver_sources(ctx, driver)
    whole = {}
    for source in sources:
        info = _probe(driver, source)
        everything = (info.num_frames or 64) + 1
        whole[source] = _concat(_read(driver, source, everything), source, everything)
        ones = _concat(_read(driver, source, 1), source, 1)
        assert_same(ones, whole[source], f"{source.name}: batch_size=1 vs one batch of all frames")

    @ctx.given(k=st.integers(2, 8), index=st.integers(0, len(sources) - 1))
    def prop(k: int, index: int) -> None:
        source = sources[index]
        streamed = _concat(_read(driver, source, k), source, k)
        assert_same(streamed, whole[source], f"{source.name}: batch_size={k} vs one batch of all frames")

    prop()


DRIVER_CHECKS = [driver_one_item_per_frame, driver_streaming_equals_batch]
