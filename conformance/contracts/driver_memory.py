"""Driver check that a stream never holds the whole source: memory to the first batch is bounded.

A driver opts in with a second hook (see :mod:`.driver`), called on an instance::

    def conformance_long_source(self, tmp_dir: Path, frames: int) -> Path:
        \"\"\"Write a valid source of exactly ``frames`` frames under tmp_dir (content may repeat; keep it
        quick: up to about a million rows of a table, or a few hundred video frames) and return it.\"\"\"

Without it the check is not applicable. The measurement (Linux: ``/proc/self/status``):

1. a short source of :data:`SHORT_FRAMES` frames: take its first batch once to warm up (imports,
   detectors, decoders), then measure the peak resident memory (``VmHWM``, reset through
   ``/proc/self/clear_refs``) while opening ``stream(source, batch_size=1)`` and taking the first
   batch, the stream still open; the batch's size gives the bytes per frame ``b``;
2. a long source of ``n`` frames, ``n`` such that all its frames as yielded take about
   :data:`TARGET_BYTES` (``n`` in [:data:`MIN_LONG_FRAMES`, :data:`MAX_LONG_FRAMES`]), measured the same way;
3. the long source may cost at most :data:`MEMORY_SLACK` more than the short one. Buffers a driver
   keeps per batch or for look-ahead cost the same for both lengths and cancel out; a driver that
   reads everything first pays for every frame of the long source (tens of MiB more). A first
   excess is measured again (noise from other threads) and reported only if it persists.
"""

from __future__ import annotations

import gc
import math
import re
from pathlib import Path
from typing import Any

from ._base import CheckContext, ContractViolation, NotApplicable, check
from ._values import leaves

__all__ = [
    "DRIVER_MEMORY_CHECKS",
    "MAX_LONG_FRAMES",
    "MEMORY_SLACK",
    "MIN_LONG_FRAMES",
    "SHORT_FRAMES",
    "TARGET_BYTES",
    "driver_bounded_memory",
    "peak_memory_available",
]

MIB = 1 << 20
#: frames of the short source.
SHORT_FRAMES = 64
#: the long source holds about this many bytes of yielded frames.
TARGET_BYTES = 64 * MIB
#: bounds on the frames of the long source.
MIN_LONG_FRAMES, MAX_LONG_FRAMES = 256, 1 << 20
#: how much more the long source's first batch may cost than the short one's.
MEMORY_SLACK = 16 * MIB

_STATUS, _CLEAR = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+)\s+kB", _STATUS.read_text(), re.MULTILINE)
    if match is None:
        raise OSError(f"no {field} in {_STATUS}")
    return int(match.group(1))


def peak_memory_available() -> bool:
    """True if the peak resident memory can be read and reset (Linux ``/proc``)."""
    try:
        _status_kib("VmHWM")
        _CLEAR.write_text("5")
    except OSError:
        return False
    return True


def _first_batch_cost(driver: Any, source: Path) -> tuple[int, int]:
    """(peak resident bytes added while taking the first batch of ``stream(source, 1)``, the
    batch's bytes)."""
    gc.collect()
    before = _status_kib("VmRSS")
    _CLEAR.write_text("5")  # VmHWM := VmRSS
    stream = driver.stream(source, 1)
    try:
        batch = next(iter(stream))
        peak = _status_kib("VmHWM")
        size = sum(t.nelement() * t.element_size() for t in leaves(dict(batch)).values())
    except StopIteration:
        raise ContractViolation(f"stream({source.name}, 1) yielded nothing") from None
    except ContractViolation:
        raise
    except Exception as exc:
        raise ContractViolation(f"stream({source.name}, 1) raised {type(exc).__name__}: {exc}") from exc
    finally:
        close = getattr(stream, "close", None)
        if callable(close):
            close()
    return max(0, peak - before) * 1024, size


def _long_source(ctx: CheckContext, driver: Any, frames: int) -> Path:
    folder = ctx.tmp_dir / f"long_{frames}"
    folder.mkdir()
    try:
        path = Path(driver.conformance_long_source(folder, frames))
        info = driver.probe(path)
    except Exception as exc:
        raise ContractViolation(
            f"conformance_long_source(tmp_dir, {frames}) / probe() raised {type(exc).__name__}: {exc}"
        ) from exc
    if info.num_frames is not None and info.num_frames != frames:
        raise ContractViolation(
            f"conformance_long_source(tmp_dir, {frames}) wrote a source of {info.num_frames} frames"
        )
    return path


@check("driver_bounded_memory", "driver")
def driver_bounded_memory(ctx: CheckContext) -> None:
    """Taking the first batch (batch_size 1) of a long source (from conformance_long_source, about 64 MiB
    of frames) costs no more peak memory than of a 64-frame one, within 16 MiB: the stream does not
    read the whole source first."""
    driver = ctx.build(0)
    if not callable(getattr(driver, "conformance_long_source", None)):
        raise NotApplicable(
            f"{type(driver).__name__} defines no conformance_long_source(tmp_dir, frames) -> Path "
            "(see emoportraits_conformance.contracts.driver_memory)"
        )
    if not peak_memory_available():
        raise NotApplicable("peak memory cannot be measured here (needs Linux /proc/self/clear_refs)")
    short = _long_source(ctx, driver, SHORT_FRAMES)
    _first_batch_cost(driver, short)  # warm-up: imports, detectors, decoders
    short_cost, per_frame = _first_batch_cost(driver, short)
    frames = min(MAX_LONG_FRAMES, max(MIN_LONG_FRAMES, math.ceil(TARGET_BYTES / max(per_frame, 1))))
    long = _long_source(ctx, driver, frames)
    excess = _first_batch_cost(driver, long)[0] - short_cost
    if excess > MEMORY_SLACK:  # measure again before blaming the driver
        excess = min(excess, _first_batch_cost(driver, long)[0] - _first_batch_cost(driver, short)[0])
    if excess > MEMORY_SLACK:
        raise ContractViolation(
            f"the first batch (batch_size 1) of a {frames}-frame source took {excess / MIB:.1f} MiB more peak "
            f"memory than of a {SHORT_FRAMES}-frame one (limit {MEMORY_SLACK / MIB:.0f} MiB; its frames "
            f"take {frames * per_frame / MIB:.1f} MiB as yielded): the stream reads the whole source "
            "before yielding; read it batch by batch"
        )


DRIVER_MEMORY_CHECKS = [driver_bounded_memory]
