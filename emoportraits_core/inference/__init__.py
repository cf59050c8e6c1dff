"""Inference: the policy that runs a pipeline's graph executor without gradients.

:func:`build` instantiates a validated pipeline and returns an :class:`InferenceRunner` (eval mode,
``inference_mode``, optional autocast, static values cached across frame batches).
"""

from .runner import InferenceRunner, build

__all__ = ["InferenceRunner", "build"]
