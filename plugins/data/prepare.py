"""``prepare``: many videos -> a prepared-shard directory (:mod:`.format`), in parallel, resumable.

- Inputs: video files and folders (searched recursively for :data:`VIDEO_SUFFIXES`). A video's id is
  its path relative to the folder given (or its file name), without the suffix, ``/`` -> ``__`` and
  other characters outside ``[A-Za-z0-9._-]`` -> ``_``; a clash gets ``-`` and 8 hex digits of the
  path's hash.
- Parallel over videos: ``workers`` processes (``spawn``; each builds its own mediapipe objects and
  regressor once), or the calling process when ``workers == 1``. The largest files go first, so that
  the workers finish at about the same time.
- Resumable: a video whose shard exists is not redone; a shard is written under a hidden name and
  renamed when complete, so an interruption leaves only hidden partial directories, which the next
  run removes and redoes. ``index.json`` is rewritten at the start (``complete: false``) and at the
  end from the shards on disk, also after an error or Ctrl-C.
- A later run into the same directory must use the same content options (size, format, matte, ...);
  otherwise it stops before doing anything, naming the option.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import multiprocessing
import os
import re
import shutil
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from emoportraits_core.errors import InputError

from .format import INDEX, META, VIDEOS, read_index, write_index
from .video_job import PrepareOptions, VideoTools, prepare_video

__all__ = ["VIDEO_SUFFIXES", "PrepareReport", "collect_videos", "prepare"]

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".ts")
_PARTIAL = re.compile(r"^\..+\.partial-(\d+)$")


@attrs.frozen
class PrepareReport:
    """What a run did: per-video results (``written`` and ``skipped``), ids already done, time."""

    root: Path
    written: list[dict[str, Any]]
    skipped: list[dict[str, Any]]
    resumed: list[str]
    seconds: float
    index: dict[str, Any]

    @property
    def frames(self) -> int:
        """Frames written by this run."""
        return sum(r["frames"] for r in self.written)


def collect_videos(inputs: Sequence[str | os.PathLike[str]]) -> list[tuple[Path, str]]:
    """``(path, id)`` of every video named or found under a named folder, sorted by path.

    Raises:
        InputError: an input that does not exist, or no video at all.
    """
    found: list[tuple[Path, str]] = []
    for item in map(Path, inputs):
        if item.is_dir():
            files = sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
            found += [(p, _sanitize(p.relative_to(item).with_suffix("").as_posix())) for p in files]
        elif item.is_file():
            found.append((item, _sanitize(item.stem)))
        else:
            raise InputError(f"{item}: no such file or directory; expected videos or folders of videos")
    if not found:
        raise InputError(
            f"{', '.join(map(str, inputs))}: no video files found (looked for {' '.join(VIDEO_SUFFIXES)})"
        )
    found.sort(key=lambda pair: str(pair[0]))
    out: list[tuple[Path, str]] = []
    ids: set[str] = set()
    paths: set[Path] = set()
    for path, vid in found:
        resolved = path.resolve()
        if resolved in paths:
            continue
        if vid in ids:
            vid = f"{vid}-{hashlib.sha256(str(resolved).encode()).hexdigest()[:8]}"
        ids.add(vid)
        paths.add(resolved)
        out.append((path, vid))
    return out


def _sanitize(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name.replace("/", "__")).lstrip(".") or "video"


def prepare(
    inputs: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    options: PrepareOptions,
    *,
    workers: int = 1,
    val_fraction: float = 0.05,
    seed: int = 0,
    progress: bool = True,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> PrepareReport:
    """Prepare ``inputs`` into ``output`` (module docstring); return what was done.

    Raises:
        InputError: a missing input, no videos, an output that is not a shard directory, or options
            that differ from those the directory was prepared with.
    """
    start = time.perf_counter()
    root = Path(output)
    videos = collect_videos(inputs)
    _check_output(root, options)
    videos_dir = root / VIDEOS
    videos_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(videos_dir)
    index_args = {"val_fraction": val_fraction, "seed": seed}
    write_index(root, options.content(), skipped=[], complete=False, **index_args)
    resumed = [vid for _, vid in videos if (videos_dir / vid / META).is_file()]
    done = set(resumed)
    todo = [(path, vid) for path, vid in videos if vid not in done]
    todo.sort(key=lambda pair: -pair[0].stat().st_size)  # longest first: workers finish together
    results: list[dict[str, Any]] = []
    complete = False
    try:
        for result in _run(todo, videos_dir, options, workers, progress):
            results.append(result)
            if on_result is not None:
                on_result(result)
        complete = True
    finally:
        skipped = [
            {"source": r["source"], "reason": r["reason"]} for r in results if r["status"] == "skipped"
        ]
        index = write_index(root, options.content(), skipped=skipped, complete=complete, **index_args)
    return PrepareReport(
        root,
        [r for r in results if r["status"] == "written"],
        [r for r in results if r["status"] == "skipped"],
        resumed,
        time.perf_counter() - start,
        index,
    )


def _check_output(root: Path, options: PrepareOptions) -> None:
    if root.exists() and not root.is_dir():
        raise InputError(f"{root}: exists and is not a directory; expected a directory for the shards")
    if not root.is_dir():
        return
    if not (root / INDEX).is_file():
        if any(root.iterdir()):
            raise InputError(f"{root}: a non-empty directory without {INDEX}; give a new or empty directory")
        return
    previous = read_index(root).get("options", {})
    for key, value in options.content().items():
        if key in previous and previous[key] != value:
            raise InputError(
                f"{root}: prepared with {key}={previous[key]!r}, this run asks for {key}={value!r}; "
                "use the same options or another directory"
            )


def _remove_stale_partials(videos_dir: Path) -> None:
    """Remove partial shards whose writing process is gone (an interrupted earlier run)."""
    for entry in videos_dir.iterdir():
        m = _PARTIAL.match(entry.name)
        if m and not _alive(int(m.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _run(todo, videos_dir: Path, options: PrepareOptions, workers: int, progress: bool):
    """Yield each video's result as it finishes (tqdm bar over videos)."""
    from tqdm import tqdm

    bar = tqdm(total=len(todo), unit="video", disable=not progress, dynamic_ncols=True)
    frames = skipped = 0
    try:
        for result in _results(todo, videos_dir, options, workers):
            frames += result["frames"]
            skipped += result["status"] == "skipped"
            bar.set_postfix(frames=frames, skipped=skipped, refresh=False)
            bar.update(1)
            yield result
    finally:
        bar.close()


def _results(todo, videos_dir: Path, options: PrepareOptions, workers: int):
    if not todo:
        return
    if workers <= 1 or len(todo) == 1:
        tools = VideoTools(options)
        for path, vid in todo:
            yield prepare_video(path, vid, videos_dir, options, tools)
        return
    context = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(
        max_workers=min(workers, len(todo)), mp_context=context, initializer=_init_worker, initargs=(options,)
    )
    futures: list[cf.Future] = []
    try:
        futures = [pool.submit(_worker_job, path, vid, videos_dir, options) for path, vid in todo]
        order = {future: i for i, future in enumerate(futures)}
        pending = set(futures)
        while pending:  # short waits: a signal (Ctrl-C) is handled within half a second
            done, pending = cf.wait(pending, timeout=0.5, return_when=cf.FIRST_COMPLETED)
            for future in sorted(done, key=order.__getitem__):
                yield future.result()
    except BaseException:  # Ctrl-C, SIGTERM, an error: stop now, not after the running videos
        for future in futures:
            future.cancel()
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()  # the worker unwinds (its partial shard is removed) and exits
        raise
    finally:
        with contextlib.suppress(Exception):
            pool.shutdown(wait=True, cancel_futures=True)


_TOOLS: VideoTools | None = None


def _init_worker(options: PrepareOptions) -> None:
    """Build the models once per worker. Ctrl-C is the parent's business (it stops the workers with
    SIGTERM, which here unwinds like Ctrl-C so that the partial shard is removed)."""
    global _TOOLS
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _interrupt)
    _TOOLS = VideoTools(options)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _worker_job(path: Path, vid: str, videos_dir: Path, options: PrepareOptions) -> dict[str, Any]:
    assert _TOOLS is not None
    try:
        return prepare_video(path, vid, videos_dir, options, _TOOLS)
    except KeyboardInterrupt:  # stopped by the parent: the partial shard is gone; take no next video
        os._exit(130)
