"""The Python API of image-driven reenactment: load the networks once, animate many times.

::

    from emoportraits_plugins.animate import Animator

    animator = Animator.load("model.safetensors", device="auto", dtype="bfloat16")
    animator.animate("photo.jpg", "driving.mp4", "out.mp4")      # a video driver -> .mp4
    animator.animate("photo.jpg", "driving.png", "out.png")      # an image driver -> .png

The networks are the ones of ``pipelines/animate.toml`` (or any pipeline with a static ``image``
input ``source``, a stream ``image`` input ``driver`` and an ``image`` output ``image``). The
source is cropped, masked and encoded once (:meth:`Animator.set_source`); the driver is decoded
and cropped in a background thread, batch by batch, and the output is encoded in another, so that
a video is never held in memory and I/O overlaps with the networks.
"""

from __future__ import annotations

import contextlib
import os
import resource
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import torch
from torch import Tensor

from emoportraits_core import get_registry
from emoportraits_core.errors import InputError, PipelineError
from emoportraits_core.interfaces import Driver, StreamInfo
from emoportraits_core.io import VideoWriter, is_image_file, write_image
from emoportraits_core.pipeline import PipelineRunner, build, resolve_pipeline
from emoportraits_core.registry import Registry

from ..face.source import SourceImage, prepare_source
from .compose import compose_frames
from .prefetch import BackgroundConsumer, prefetch
from .speed import compile_stream_components, configure_precision

__all__ = ["AnimateReport", "Animator", "resolve_device"]

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> cuda if available else cpu; ``"cuda"`` without a GPU is an InputError."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {device}: no CUDA device is available here; use --device cpu or auto")
    return torch.device(device)


@attrs.frozen
class AnimateReport:
    """What one :meth:`Animator.animate` call did."""

    output: Path
    frames: int
    seconds: float
    size: tuple[int, int]
    peak_memory_gb: float
    frames_without_face: int = 0
    source_seconds: float = 0.0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")

    def summary(self) -> str:
        w, h = self.size
        extra = (
            f"; {self.frames_without_face} frames without a face reused the last box"
            if self.frames_without_face
            else ""
        )
        frames = f"{self.frames} frame{'s' if self.frames != 1 else ''}"
        return (
            f"wrote {self.output}: {frames} {w}x{h} in {self.seconds:.1f} s ({self.fps:.2f} fps; "
            f"source encoded once in {self.source_seconds:.1f} s), peak memory {self.peak_memory_gb:.1f} GB{extra}"
        )


def _check_contract(runner: PipelineRunner) -> None:
    r = runner.resolved
    want = {"source": (False, "image"), "driver": (True, "image")}
    for name, (stream, type_) in want.items():
        spec = r.inputs.get(name)
        if spec is None or spec.stream != stream or spec.type != type_:
            kind = "stream" if stream else "static"
            raise PipelineError(
                f"{r.path}: animate needs a {kind} input '{name}' of type {type_} "
                f"(see pipelines/animate.toml); inputs here: {', '.join(r.inputs) or '(none)'}"
            )
    if "image" not in r.outputs:
        raise PipelineError(
            f"{r.path}: animate needs an output 'image'; outputs here: {', '.join(r.outputs)}"
        )


def image_size(runner: PipelineRunner, input_name: str) -> int:
    """The square image side that the components reading pipeline input ``input_name`` declare."""
    sizes = set()
    for node, port in runner.resolved.consumers(input_name):
        spec = runner.components[runner.resolved.nodes[node].component].input_specs().get(port)
        if spec is not None and spec.shape is not None and isinstance(spec.shape[-1], int):
            sizes.add(spec.shape[-1])
    if len(sizes) > 1:
        raise PipelineError(
            f"{runner.resolved.path}: the components reading '{input_name}' expect different image sizes {sorted(sizes)}"
        )
    return sizes.pop() if sizes else 512


class Animator:
    """Networks loaded once; :meth:`animate` any number of (source, driver) pairs.

    Args:
        runner: the built animate pipeline.
        driver: the driver component that turns a file into batches of ``{"driver": crops}``.
        dtype: compute dtype; float16/bfloat16 run under autocast with float32 weights.
        random_weights: the networks are untrained (said in every report).
    """

    def __init__(
        self,
        runner: PipelineRunner,
        driver: Driver,
        *,
        dtype: torch.dtype = torch.float32,
        random_weights: bool = False,
    ) -> None:
        _check_contract(runner)
        configure_precision(runner.components.values(), runner.device, dtype)
        self.compiled = compile_stream_components(runner) if compile else []
        self.runner, self.driver = runner, driver
        self.device, self.dtype = runner.device, dtype
        self.random_weights = random_weights
        self.image_size = image_size(runner, "source")
        self.source: SourceImage | None = None
        self._source_key: tuple | None = None

    @classmethod
    def load(
        cls,
        checkpoint: str | os.PathLike[str] | None = None,
        *,
        random_weights: bool = False,
        pipeline: str | os.PathLike[str] = "animate",
        overrides: Sequence[str] = (),
        device: str = "auto",
        dtype: str = "float32",
        crop: bool = True,
        seed: int = 0,
        driver: str = "video",
        compile: bool = False,
        registry: Registry | None = None,
    ) -> Animator:
        """Validate the pipeline, then build it with ``checkpoint`` (or seeded random weights).

        Raises:
            PipelineError / ConfigError: a bad pipeline file or override (before any weights load).
            CheckpointError: an unreadable checkpoint, or one that does not fit the pipeline.
        """
        if (checkpoint is None) == (not random_weights):
            raise InputError(
                "give exactly one of a checkpoint (--checkpoint model.safetensors) or --random-weights"
            )
        if dtype not in DTYPES:
            raise InputError(f"--dtype {dtype}: expected one of {', '.join(DTYPES)}")
        registry = registry or get_registry()
        resolved = resolve_pipeline(pipeline, overrides, registry)
        dev = resolve_device(device)
        torch.manual_seed(seed)
        runner = build(resolved, registry, device=dev, checkpoint=checkpoint)
        drv = (
            registry.create("driver", driver, crop=crop)
            if driver == "video"
            else registry.create("driver", driver)
        )
        return cls(runner, drv, dtype=DTYPES[dtype], random_weights=random_weights)

    # -- the source --------------------------------------------------------------------------------------
    def set_source(
        self,
        path: str | os.PathLike[str],
        *,
        crop: bool = True,
        face_parser: str | os.PathLike[str] | None = None,
        source_mask: str | os.PathLike[str] | None = None,
    ) -> SourceImage:
        """Read, crop, mask and encode the source once (a no-op if it is already the current one)."""
        key = (str(path), crop, str(face_parser), str(source_mask))
        if key != self._source_key or self.source is None:
            source = prepare_source(
                path, crop=crop, size=self.image_size, face_parser=face_parser, source_mask=source_mask
            )
            with self._autocast():
                self.runner.prepare(source=source.masked)
            self.source, self._source_key = source, key
        return self.source

    def reset_source(self) -> None:
        """Forget the encoded source (the next :meth:`set_source` encodes again)."""
        self.source, self._source_key = None, None
        self.runner.reset()

    # -- frames ------------------------------------------------------------------------------------------------
    def animate_frames(self, driver: Tensor, *, pad_to: int | None = None) -> Tensor:
        """``driver (B, 3, 512, 512)`` crops in [0, 1] -> animated crops ``(B, 3, 512, 512)`` in [0, 1] (float32).

        ``pad_to``: run a batch of this size (repeating the last frame) and return the first B
        results, so that compiled networks always see one shape.
        """
        if self.source is None:
            raise InputError("no source yet: call set_source(path) first")
        n = driver.shape[0]
        if pad_to is not None and n < pad_to:
            driver = torch.cat([driver, driver[-1:].expand(pad_to - n, -1, -1, -1)])
        with self._autocast():
            out = self.runner(driver=driver)["image"]
        return out[:n].float().clamp(0.0, 1.0)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    # -- files -------------------------------------------------------------------------------------------------
    def animate(
        self,
        source: str | os.PathLike[str],
        driver: str | os.PathLike[str],
        output: str | os.PathLike[str],
        *,
        batch_size: int = 4,
        crop: bool = True,
        face_parser: str | os.PathLike[str] | None = None,
        source_mask: str | os.PathLike[str] | None = None,
        paste: bool = False,
        side_by_side: bool = False,
        progress: Callable[[StreamInfo], Any] | None = None,
    ) -> AnimateReport:
        """Animate ``source`` with ``driver`` into ``output`` (.mp4 for a video driver, .png for an image).

        Args:
            batch_size: driver frames per network call.
            progress: ``progress(info)`` returns an object with ``update(n)`` and ``close()``
                (e.g. a tqdm bar), or None for no progress display.

        Raises:
            InputError: unreadable or faceless source/driver, wrong output suffix. Nothing is
                written then, and an interrupted run leaves no partial output.
        """
        output = Path(output)
        if batch_size < 1:
            raise InputError(f"--batch-size {batch_size}: expected a positive number of frames")
        info = self.driver.probe(driver)
        still = is_image_file(driver)
        want = ".png" if still else ".mp4"
        if output.suffix.lower() != want:
            kind = "an image" if still else "a video"
            raise InputError(
                f"{output}: the driver {Path(driver).name} is {kind}, so the output must end in {want}"
            )
        start = time.perf_counter()
        src = self.set_source(source, crop=crop, face_parser=face_parser, source_mask=source_mask)
        source_seconds = time.perf_counter() - start
        start, frames, size = time.perf_counter(), 0, (0, 0)
        bar = progress(info) if progress is not None else None
        batches: Iterator[Any] = prefetch(self.driver.stream(driver, batch_size))
        try:
            if still:
                crops = next(batches)["driver"]
                out = compose_frames(
                    self.animate_frames(crops), crops, src, paste=paste, side_by_side=side_by_side
                )
                write_image(output, out[0])
                frames, size = 1, (out.shape[-1], out.shape[-2])
                if bar is not None:
                    bar.update(1)
            else:
                with VideoWriter(output, info.fps, audio_from=info.audio) as writer:
                    sink = BackgroundConsumer(writer.write)
                    try:
                        for batch in batches:
                            crops = batch["driver"]
                            out = compose_frames(
                                self.animate_frames(crops), crops, src, paste=paste, side_by_side=side_by_side
                            )
                            sink.put(out)
                            frames, size = frames + out.shape[0], (out.shape[-1], out.shape[-2])
                            if bar is not None:
                                bar.update(out.shape[0])
                    finally:
                        sink.close()
        finally:
            batches.close()
            if bar is not None:
                bar.close()
        return AnimateReport(
            output,
            frames,
            time.perf_counter() - start,
            size,
            _peak_memory_gb(self.device),
            getattr(self.driver, "frames_without_face", 0),
            source_seconds,
        )


def _peak_memory_gb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
