"""Choosing a pipeline for a driver file: the shipped pipeline of a task whose driver accepts it.

``emoportraits animate photo.jpg drive.mp4`` runs ``animate`` (the video driver takes any picture
or video) and ``emoportraits animate photo.jpg perf.motion.safetensors`` runs ``animate_motion``
(the motion-file driver takes motion files), with no branch on file types in the command: each
shipped pipeline declares ``[pipeline] task`` and its driver, and each driver says which files it
takes (:meth:`~emoportraits_core.interfaces.Driver.accepts`). ``--pipeline`` always wins.
"""

from __future__ import annotations

import os

from emoportraits_core.errors import PipelineError
from emoportraits_core.pipeline import load_pipeline
from emoportraits_core.registry import Registry

__all__ = ["pipeline_for"]


def pipeline_for(driver: str | os.PathLike[str], task: str, registry: Registry) -> str:
    """The name of the one shipped pipeline of ``task`` whose driver accepts ``driver``.

    Raises:
        PipelineError: none or several accept it (the message lists the pipelines of the task).
    """
    import emoportraits_pipelines

    of_task, accepting = [], []
    for name in emoportraits_pipelines.available():
        spec = load_pipeline(name)
        if spec.task != task:
            continue
        of_task.append(name)
        drivers = [c for c in spec.components.values() if c.kind == "driver"]
        if len(drivers) != 1 or not registry.has("driver", drivers[0].name):
            continue
        cls = registry.get("driver", drivers[0].name).component_class
        if cls is not None and cls.accepts(driver):
            accepting.append(name)
    if len(accepting) == 1:
        return accepting[0]
    listing = ", ".join(of_task) or "(none)"
    if not accepting:
        raise PipelineError(
            f"{driver}: no shipped {task} pipeline has a driver for this file (pipelines: {listing}); "
            "give --pipeline FILE"
        )
    raise PipelineError(
        f"{driver}: several shipped {task} pipelines take this file ({', '.join(accepting)}); "
        "choose one with --pipeline"
    )
