"""Image-driven reenactment end to end: the :class:`Animator` API and ``emoportraits animate``."""

from .animator import AnimateReport, Animator

__all__ = ["AnimateReport", "Animator"]
