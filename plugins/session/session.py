"""One session for every driver modality: load a pipeline once, run any number of (source, driver) pairs.

::

    from emoportraits_plugins.session import Session

    session = Session.load("model.safetensors", device="auto", dtype="bfloat16")
    session.animate("photo.jpg", "driving.mp4", "out.mp4")              # a video driver -> .mp4
    session.animate("photo.jpg", "driving.png", "out.png")              # a picture -> .png
    motion = Session.load("model.safetensors", pipeline="animate_motion")
    motion.animate("photo.jpg", "perf.motion.safetensors", "out.mp4")   # a motion file -> .mp4

The session knows nothing of modalities. The pipeline file declares its driver (a component of
kind ``driver``); the session opens the driver file with it, pulls batches of named tensors and
feeds them to the pipeline's stream inputs of the same names; frame count, frame rate, whether the
output is one picture, the audio and the statistics come from the driver's
:class:`~emoportraits_core.interfaces.StreamInfo` and :meth:`~emoportraits_core.interfaces.Driver.statistics`.
A new modality (speech, blend, a camera) is a driver plugin plus a pipeline file.

The source (static input ``source``: the masked face crop) is read, cropped and masked once per
file and encoded once; the driver is decoded in a background thread, batch by batch, the output
written in another, so nothing is ever held whole in memory and I/O overlaps with the networks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import torch
from torch import Tensor

from emoportraits_core import get_registry
from emoportraits_core.devices import resolve_device, resolve_dtype
from emoportraits_core.errors import InputError, PipelineError
from emoportraits_core.inference import InferenceRunner, build
from emoportraits_core.interfaces import Driver, StreamInfo
from emoportraits_core.io.audio import check_audio_file
from emoportraits_core.pipeline import resolve_pipeline
from emoportraits_core.registry import Registry

from ..face.source import SourceImage, prepare_source
from .prefetch import BackgroundConsumer, prefetch
from .report import SessionReport, peak_memory_gb
from .sinks import PictureSink, Sink
from .speed import compile_stream_components, configure_precision

__all__ = ["Session", "image_size"]

SOURCE = "source"  # the static input a session fills with the prepared source crop


def image_size(runner: InferenceRunner, input_name: str) -> int:
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


def _driver_of(runner: InferenceRunner) -> Driver:
    r = runner.resolved
    keys = [k for k, c in r.components.items() if c.kind == "driver"]
    if len(keys) != 1:
        found = f"{len(keys)} ({', '.join(keys)})" if keys else "none"
        raise PipelineError(
            f'{r.path}: a session needs exactly one component of kind "driver" (it fills the stream inputs '
            f"{', '.join(r.stream_inputs) or '(none)'}); found {found}. Add e.g. [components.driver] "
            'kind = "driver", name = "video"'
        )
    static = [n for n in r.static_inputs if n != SOURCE]
    if static:
        raise PipelineError(
            f"{r.path}: a session fills only the static input '{SOURCE}' (the source photo); "
            f"this pipeline also has {', '.join(static)}"
        )
    return runner.components[keys[0]]


class Session:
    """Networks loaded once; :meth:`animate` / :meth:`run` any number of (source, driver) pairs.

    Args:
        runner: the built pipeline (inference policy).
        compile_networks: ``torch.compile`` the components that run per batch.
        random_weights: the networks are untrained (said by the command line).
    """

    def __init__(
        self, runner: InferenceRunner, *, compile_networks: bool = False, random_weights: bool = False
    ) -> None:
        self.runner = runner
        self.driver = _driver_of(runner)
        configure_precision(runner.components.values(), runner.device, runner.autocast or runner.dtype)
        self.compiled = compile_stream_components(runner) if compile_networks else []
        self.random_weights = random_weights
        r = runner.resolved
        self.image_size = image_size(runner, SOURCE) if SOURCE in r.static_inputs else None
        self.source: SourceImage | None = None
        self._prepared: tuple[tuple, SourceImage] | None = None
        self._encoded: tuple | None = None
        self._batch: int | None = None  # the batch size compiled networks were traced with

    @property
    def device(self) -> torch.device:
        return self.runner.device

    @property
    def dtype(self) -> torch.dtype:
        """The compute dtype (the autocast dtype, or the weights' dtype)."""
        return self.runner.autocast or self.runner.dtype

    @classmethod
    def load(
        cls,
        checkpoint: str | os.PathLike[str] | None = None,
        *,
        random_weights: bool = False,
        pipeline: str | os.PathLike[str] = "animate",
        overrides: Sequence[str] = (),
        device: str | torch.device = "auto",
        dtype: str | torch.dtype = "float32",
        seed: int = 0,
        compile_networks: bool = False,
        registry: Registry | None = None,
        subset_of_checkpoint: bool = False,
    ) -> Session:
        """Validate the pipeline, then build it with ``checkpoint`` (or seeded random weights).

        ``dtype`` float32 runs exactly; bfloat16 / float16 run under autocast with float32 weights.
        ``subset_of_checkpoint``: the pipeline uses only some of the checkpoint's components.

        Raises:
            InputError: neither or both of ``checkpoint`` / ``random_weights``, a bad device or dtype.
            PipelineError / ConfigError: a bad pipeline file or override (before any weights load).
            CheckpointError: an unreadable checkpoint, or one that does not fit the pipeline.
        """
        if (checkpoint is None) == (not random_weights):
            raise InputError(
                "give exactly one of a checkpoint (--checkpoint model.safetensors) or --random-weights"
            )
        compute = resolve_dtype(dtype)
        dev = resolve_device(device)
        registry = registry or get_registry()
        resolved = resolve_pipeline(pipeline, overrides, registry)
        torch.manual_seed(seed)
        runner = build(
            resolved,
            registry,
            device=dev,
            checkpoint=checkpoint,
            autocast=compute,
            subset_of_checkpoint=subset_of_checkpoint,
        )
        return cls(runner, compile_networks=compile_networks, random_weights=random_weights)

    # -- the source --------------------------------------------------------------------------------------
    def prepare_source(
        self,
        path: str | os.PathLike[str],
        *,
        crop: bool = True,
        face_parser: str | os.PathLike[str] | None = None,
        source_mask: str | os.PathLike[str] | None = None,
    ) -> SourceImage:
        """Read, crop and mask the source once per file and options (no network runs; cached)."""
        if self.image_size is None:
            raise InputError(f"{self.runner.resolved.path} takes no source photo")
        key = (str(path), crop, str(face_parser), str(source_mask))
        if self._prepared is None or self._prepared[0] != key:
            source = prepare_source(
                path, crop=crop, size=self.image_size, face_parser=face_parser, source_mask=source_mask
            )
            self._prepared = (key, source)
        return self._prepared[1]

    def set_source(self, path: str | os.PathLike[str], **options: Any) -> SourceImage:
        """:meth:`prepare_source`, then encode it (the static nodes) unless it is already encoded."""
        source = self.prepare_source(path, **options)
        key = self._prepared[0] if self._prepared else None
        if key != self._encoded or self.source is None:
            self.runner.prepare(**{SOURCE: source.masked})
            self.source, self._encoded = source, key
        return source

    def reset_source(self) -> None:
        """Forget the encoded source (the next run encodes again)."""
        self.source, self._encoded = None, None
        self.runner.reset()

    # -- batches -------------------------------------------------------------------------------------------
    def animate_batch(self, inputs: Mapping[str, Any], *, pad_to: int | None = None) -> dict[str, Any]:
        """Run one batch of stream inputs (e.g. ``{"driver": crops (B, 3, 512, 512)}``) -> the pipeline
        outputs (e.g. ``{"image": (B, 3, 512, 512)}``, floating outputs in float32).

        ``pad_to``: run a batch of this size (repeating the last frame) and return the first B
        results, so that compiled networks always see one shape.
        """
        if self.image_size is not None and self.source is None:
            raise InputError("no source yet: call set_source(path) first")
        n = self.runner.executor.batch_size(inputs) or 1
        if pad_to is not None and n < pad_to:
            inputs = {k: _pad(v, pad_to) for k, v in inputs.items()}
        outputs = self.runner(**inputs)
        return {k: _trim(v, n) for k, v in outputs.items()}

    def animate_frames(self, value: Any, *, pad_to: int | None = None) -> Tensor:
        """A batch of the pipeline's single stream input (crops ``(B, 3, S, S)`` in [0, 1] for
        ``animate``, a ``Motion`` for ``animate_motion``) -> ``image (B, 3, S, S)`` in [0, 1], float32."""
        (name,) = self.runner.resolved.stream_inputs
        return self.animate_batch({name: value}, pad_to=pad_to)["image"].clamp(0.0, 1.0)

    # -- files -------------------------------------------------------------------------------------------
    def animate(
        self,
        source_path: str | os.PathLike[str],
        driver_path: str | os.PathLike[str],
        output_path: str | os.PathLike[str],
        *,
        crop: bool = True,
        face_parser: str | os.PathLike[str] | None = None,
        source_mask: str | os.PathLike[str] | None = None,
        paste: bool = False,
        side_by_side: bool = False,
        crf: int = 18,
        **run_options: Any,
    ) -> SessionReport:
        """Animate the photo ``source_path`` with the driver's input ``driver_path`` into
        ``output_path`` (.mp4, or .png for a still driver).

        ``crf``: H.264 quality of a video output (0 lossless, 18 visually lossless). ``run_options``
        are those of :meth:`run` (batch_size, max_frames, duration, audio, progress).

        Raises:
            InputError: unreadable or faceless source/driver, wrong output suffix. Nothing is
                written then, and an interrupted run leaves no partial output.
        """
        options = {"crop": crop, "face_parser": face_parser, "source_mask": source_mask}
        source = self.prepare_source(source_path, **options)
        sink = PictureSink(output_path, source, paste=paste, side_by_side=side_by_side, crf=crf)
        return self.run(driver_path, sink, source_path=source_path, source_options=options, **run_options)

    def run(
        self,
        driver_path: str | os.PathLike[str],
        sink: Sink,
        *,
        source_path: str | os.PathLike[str] | None = None,
        source_options: Mapping[str, Any] | None = None,
        batch_size: int = 4,
        max_frames: int | None = None,
        duration: float | None = None,
        audio: str | os.PathLike[str] | None = None,
        progress: Callable[[int | None], Any] | None = None,
    ) -> SessionReport:
        """Stream the driver's input through the pipeline into ``sink``.

        Args:
            driver_path: the driver's input (a video, a picture, a motion file...).
            sink: where the outputs go (:class:`PictureSink`, a motion-file sink...).
            source_path: the source photo, when the pipeline has a ``source`` input.
            source_options: ``crop``, ``face_parser``, ``source_mask`` for :meth:`prepare_source`.
            batch_size: driver frames per network call.
            max_frames / duration: stop after this many frames / seconds of the driver (the audio is
                cut to match).
            audio: a media file whose audio replaces the driver's (e.g. a WAV).
            progress: ``progress(total_frames) -> bar`` with ``update(n)`` and ``close()`` (e.g. a
                tqdm bar), or None.

        Raises:
            InputError: a bad driver, source, output suffix, audio file or option; nothing is
                written then, and an interrupted run leaves no partial output.
        """
        if batch_size < 1:
            raise InputError(f"--batch-size {batch_size}: expected a positive number of frames")
        info = self._stream_info(driver_path, audio)
        total = _frame_limit(info, max_frames, duration)
        sink.check(info)
        if self.image_size is not None and source_path is None:
            raise InputError(f"{self.runner.resolved.path}: this pipeline animates a source photo; give one")
        batches: Iterator[Mapping[str, Any]] = prefetch(self.driver.stream(driver_path, batch_size))
        bar = None
        try:
            first = next(batches, None)
            if first is None:
                raise InputError(f"{driver_path}: the driver yielded no frames")
            self.runner.check_stream_inputs(first)  # a wrong driver fails before the source is encoded
            start = time.perf_counter()
            if source_path is not None:
                self.set_source(source_path, **(source_options or {}))
            self.runner.start_stream()  # autoregressive components begin afresh
            source_seconds = time.perf_counter() - start if source_path is not None else 0.0
            bar = progress(total) if progress is not None else None
            start = time.perf_counter()
            frames, size, first_seconds = 0, (0, 0), 0.0
            with sink.open(info) as write:
                sizes: list[tuple[int, int]] = []
                writer = BackgroundConsumer(lambda item: sizes.append(write(*item)))
                try:
                    for batch in _take(_chain(first, batches), total):
                        n = _batch_len(batch)
                        writer.put((self.animate_batch(batch, pad_to=self._pad(n)), batch))
                        frames += n
                        first_seconds = first_seconds or time.perf_counter() - start
                        if bar is not None:
                            bar.update(n)
                finally:
                    writer.close()
                size = sizes[-1] if sizes else (0, 0)
        finally:
            batches.close()
            if bar is not None:
                bar.close()
        return SessionReport(
            Path(sink.path),
            frames,
            time.perf_counter() - start,
            size,
            peak_memory_gb(self.device),
            dict(self.driver.statistics()),
            source_seconds,
            first_seconds,
        )

    # -- internals -------------------------------------------------------------------------------------
    def _pad(self, n: int) -> int | None:
        """With compiled networks, the batch size every call uses (the first one's); padding only appends
        copies of the last frame, so a stateful stream's real frames are computed before them."""
        if not self.compiled:
            return None
        self._batch = self._batch or n
        return self._batch

    def _stream_info(
        self, driver_path: str | os.PathLike[str], audio: str | os.PathLike[str] | None
    ) -> StreamInfo:
        if not Path(driver_path).exists():
            raise InputError(f"{driver_path}: no such file; expected the driver input")
        info = self.driver.probe(driver_path)
        if audio is None:
            return info
        if info.still:
            raise InputError(f"--audio {audio}: the output is a still picture, which has no audio")
        return attrs.evolve(info, audio=check_audio_file(audio, what="--audio"))


def _frame_limit(info: StreamInfo, max_frames: int | None, duration: float | None) -> int | None:
    """How many frames to take: the stream's, cut by ``max_frames`` and ``duration`` seconds."""
    limits = [n for n in (info.num_frames,) if n is not None]
    if max_frames is not None:
        if max_frames < 1:
            raise InputError(f"--max-frames {max_frames}: expected a positive number of frames")
        limits.append(max_frames)
    if duration is not None:
        if not duration > 0:
            raise InputError(f"--duration {duration}: expected a positive number of seconds")
        limits.append(max(1, round(duration * info.fps)))
    return min(limits) if limits else None


def _chain(first: Mapping[str, Any], rest: Iterator[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    yield first
    yield from rest


def _take(batches: Iterator[Mapping[str, Any]], total: int | None) -> Iterator[Mapping[str, Any]]:
    """The batches up to ``total`` frames (the last one cut), or all of them when ``total`` is None."""
    seen = 0
    for batch in batches:
        if total is not None and seen >= total:
            return
        n = _batch_len(batch)
        if total is not None and seen + n > total:
            batch = {k: _trim(v, total - seen) for k, v in batch.items()}
            n = total - seen
        seen += n
        yield batch


def _batch_len(batch: Mapping[str, Any]) -> int:
    from emoportraits_core.types import batch_size_of

    sizes = [s for s in map(batch_size_of, batch.values()) if s is not None]
    return sizes[0] if sizes else 1


def _trim(value: Any, n: int) -> Any:
    """The first ``n`` items of a batched value (tensor, Motion...); floating tensors in float32."""
    if isinstance(value, Tensor):
        value = value[:n]
        return value.float() if value.is_floating_point() else value
    if hasattr(value, "map") and hasattr(value, "batch_size"):
        return value.map(lambda t: t[:n].float() if t.is_floating_point() else t[:n])
    return value


def _pad(value: Any, size: int) -> Any:
    """Repeat the last item of a batched value up to ``size`` items."""
    if isinstance(value, Tensor):
        return torch.cat([value, value[-1:].expand(size - value.shape[0], *value.shape[1:])])
    if hasattr(value, "map") and hasattr(value, "batch_size"):
        n = value.batch_size
        return value.map(lambda t: torch.cat([t, t[-1:].expand(size - n, *t.shape[1:])]))
    return value
