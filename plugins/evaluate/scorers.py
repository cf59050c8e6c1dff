"""The networks that score outputs beyond pixels: mediapipe keypoints (AKD), dlib identity (CSIM),
LPIPS; each optional, built once and reused across evaluations (a training run keeps one)."""

from __future__ import annotations

import os

import attrs

from .identity import DlibIdentity, load_identity
from .keypoints import FaceMeshKeypoints

__all__ = ["Scorers"]


@attrs.define
class Scorers:
    """Attributes: ``keypoints`` (AKD, face_found), ``identity`` (CSIM), ``lpips``; each None when
    off or unavailable; ``notes``: one line per metric skipped and why."""

    keypoints: FaceMeshKeypoints | None = None
    identity: DlibIdentity | None = None
    lpips: object | None = None
    notes: list[str] = attrs.field(factory=list)

    @classmethod
    def create(
        cls,
        *,
        keypoints: bool = True,
        identity: bool = True,
        lpips: str | os.PathLike[str] | None = None,
        lpips_backbone: str | os.PathLike[str] | None = None,
    ) -> Scorers:
        """Build the scorers asked for. CSIM without dlib is skipped with a note; a bad LPIPS
        weights file raises :class:`~emoportraits_core.CheckpointError`."""
        out = cls()
        if keypoints:
            out.keypoints = FaceMeshKeypoints()
        if identity:
            out.identity, note = load_identity()
            if note:
                out.notes.append(note)
        if lpips:
            from .lpips import LPIPS

            out.lpips = LPIPS.create(lpips, backbone=lpips_backbone)
        else:
            out.notes.append("LPIPS skipped: no weights (--lpips)")
        return out
