"""``emoportraits animate``: a photo animated by a driving video, picture or motion file.

The work is done by the modality-agnostic :class:`~emoportraits_plugins.session.Session`;
``Animator`` and ``AnimateReport`` are its first names, kept for existing code.
"""

from ..session import Session, SessionReport

Animator = Session
AnimateReport = SessionReport

__all__ = ["AnimateReport", "Animator"]
