"""The source face mask M (face + hair + ears + neck, no background, no clothes) on the 512 crop.

The release multiplies the source crop by a binary BiSeNet "head" mask before encoding it. Three
ways to get one, all returning ``(1, 1, S, S)`` float with values in {0, 1}:

- :class:`MediapipeHeadMask` (default, nothing to download): a head-shaped approximation of the
  parser's mask from two models inside the mediapipe wheel. The person mask of selfie segmentation
  (model 0, > 0.5) is intersected with a head region built from the 468-point face mesh in the
  face's own frame (rotates with a tilted head): up from the brow line everything within one face
  width of the face centre (hair, ears), narrowing to the jaw and to a neck band 0.3 face heights
  below the chin; shoulders and most clothes fall outside. The face-mesh hull is always added, the
  part connected to the face kept and holes filled. If the mesh finds no face, the face detector's
  box gives the frame.
- :class:`ParserHeadMask` (``--face-parser PATH``): a user-supplied BiSeNet face parser
  (:mod:`.bisenet`); M = softmax probability summed over skin, brows, eyes, glasses, ears,
  earring, nose, mouth, lips, neck, hair and hat (not necklace, cloth, background) > 0.6, as the
  release does.
- :func:`load_mask_png` (``--source-mask PNG``): a given binary mask, resized (nearest) to the crop.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from emoportraits_core.errors import CheckpointError, InputError
from emoportraits_core.normalize import imagenet_normalize

from ._quiet import quiet_native_stderr
from .bisenet import BiSeNet
from .detector import as_rgb_array, shared_detector

__all__ = ["HEAD_CLASSES", "MediapipeHeadMask", "ParserHeadMask", "load_bisenet", "load_mask_png"]

#: BiSeNet classes that make up the head mask (see :data:`.bisenet.CLASS_NAMES`).
HEAD_CLASSES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 17, 18)
# Head region half-widths (in face widths) at heights above the chin (in face heights), face frame.
_HEAD_PROFILE = ((1.0, 10.0), (1.0, 0.55), (0.62, 0.18), (0.4, 0.0), (0.33, -0.08), (0.33, -0.3))
_FOREHEAD, _CHIN = 10, 152  # face-mesh landmark indices


def _as_image(crop: Tensor) -> Tensor:
    if crop.dim() == 4:
        if crop.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of shape {tuple(crop.shape)}")
        crop = crop[0]
    if crop.dim() != 3 or crop.shape[0] != 3:
        raise ValueError(f"expected an image (3, H, W), got shape {tuple(crop.shape)}")
    return crop


class MediapipeHeadMask:
    """Default head mask from mediapipe selfie segmentation and face mesh (see module docstring).

    Call with a crop ``(3, S, S)`` or ``(1, 3, S, S)`` float in [0, 1]; returns ``(1, 1, S, S)``.
    """

    def __init__(self, threshold: float = 0.5) -> None:
        import mediapipe as mp

        self.threshold = threshold
        with quiet_native_stderr():
            self._seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
            self._mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1)
            blank = np.zeros((64, 64, 3), np.uint8)  # start the graphs now: they log while starting
            self._seg.process(blank)
            self._mesh.process(blank)

    def __call__(self, crop: Tensor) -> Tensor:
        arr = as_rgb_array(_as_image(crop))
        h, w = arr.shape[:2]
        with quiet_native_stderr():
            person = self._seg.process(arr).segmentation_mask > self.threshold
            mesh = self._mesh.process(arr).multi_face_landmarks
        face = np.zeros((h, w), np.uint8)
        if mesh:
            pts = np.array([(p.x * w, p.y * h) for p in mesh[0].landmark], np.float32)
            frame = _face_frame(pts[_FOREHEAD], pts[_CHIN], pts)
            _fill(face, _convex_hull(pts))
        else:
            frame = _frame_from_detector(arr, face)
        region = np.zeros((h, w), np.uint8)
        _fill(region, _head_polygon(*frame))
        mask = (person & region.astype(bool)) | face.astype(bool)
        mask = _fill_holes(_component_of(mask, face.astype(bool)))
        return torch.from_numpy(mask.astype(np.float32))[None, None]


class ParserHeadMask:
    """Head mask from a BiSeNet face parser (weights file given by the user).

    Args:
        weights: path of a state dict with BiSeNet keys (``cp.resnet.conv1.weight``, ...).
        threshold: on the summed head-class probability (0.6 in the release).
        device: where the parser runs.
    """

    def __init__(self, weights: str | os.PathLike[str], threshold: float = 0.6, device: str = "cpu") -> None:
        self.net = load_bisenet(weights).to(device).eval()
        self.threshold = threshold
        self.device = device

    @torch.no_grad()
    def __call__(self, crop: Tensor) -> Tensor:
        x = _as_image(crop)[None].float().to(self.device)
        logits = self.net(imagenet_normalize(x))[0]
        prob = logits.softmax(dim=1)[:, list(HEAD_CLASSES)].sum(dim=1, keepdim=True)
        return (prob > self.threshold).float().cpu()


def load_bisenet(path: str | os.PathLike[str]) -> BiSeNet:
    """Build :class:`BiSeNet` and load a weights file (``torch.load(weights_only=True)``).

    Accepts a plain state dict, one nested under ``"state_dict"`` / ``"model"``, and ``module.``
    prefixes (DataParallel). BatchNorm ``num_batches_tracked`` counters may be absent.

    Raises:
        CheckpointError: unreadable file, not a state dict, or missing / unexpected / misshaped keys.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such face-parser weights file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: not a loadable PyTorch weights file ({type(exc).__name__})") from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: not a state dict of tensors; expected BiSeNet face-parsing weights")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    net = BiSeNet()
    expected = net.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        what = f"missing key '{missing[0]}'" if missing else f"unexpected key '{unexpected[0]}'"
        raise CheckpointError(
            f"{path}: not BiSeNet face-parsing weights ({what}; {len(missing)} missing, "
            f"{len(unexpected)} unexpected); expected the zllrunning/face-parsing.PyTorch layout"
        )
    for k, v in state.items():
        if v.shape != expected[k].shape:
            raise CheckpointError(
                f"{path}: key '{k}' has shape {tuple(v.shape)}, expected {tuple(expected[k].shape)}"
            )
    net.load_state_dict(state, strict=False)
    return net


def load_mask_png(path: str | os.PathLike[str], size: int = 512) -> Tensor:
    """Load a mask image as ``(1, 1, size, size)`` float in {0, 1}: grey value > 127 -> 1.

    Colour or alpha images are converted to grey (luminance); the mask is resized with nearest
    neighbour if needed (it should cover the same square as the source crop).
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            grey = im.convert("L") if im.mode not in ("I;16", "I;16B", "I;16L", "I") else im
            arr = np.asarray(grey).astype(np.float32)
    except FileNotFoundError:
        raise InputError(f"{path}: no such mask file") from None
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise InputError(f"{path}: not a readable mask image ({exc}); expected a PNG mask") from None
    if grey.mode != "L":
        arr = arr / 257.0
    t = torch.from_numpy((arr > 127).astype(np.float32))[None, None]
    if t.shape[-2:] != (size, size):
        t = F.interpolate(t, size=(size, size), mode="nearest")
    if t.sum() == 0:
        raise InputError(f"{path}: the mask is empty; expected white (> 127) where the head is")
    return t


# -- geometry helpers --------------------------------------------------------------------------------
def _face_frame(top: np.ndarray, chin: np.ndarray, pts: np.ndarray):
    """(origin at the chin on the face's mid-line, up unit vector, right unit vector, face w, face h)."""
    up = top - chin
    fh = float(np.linalg.norm(up)) or 1.0
    up = up / fh
    right = np.array([-up[1], up[0]])
    proj = (pts - chin) @ right
    origin = chin + right * (proj.max() + proj.min()) / 2.0
    return origin, up, right, float(proj.max() - proj.min()), fh


def _frame_from_detector(arr: np.ndarray, face: np.ndarray):
    box = shared_detector().detect(arr)
    if box is None:
        raise InputError("source crop: no face found for the face mask; expected a clearly visible face")
    x0, y0, x1, y1 = box.x, box.y, box.x + box.w, box.y + box.h
    _fill(face, np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], np.float32))
    chin = np.array([(x0 + x1) / 2, y1])
    return chin, np.array([0.0, -1.0]), np.array([1.0, 0.0]), box.w, box.h * 1.2


def _head_polygon(origin, up, right, fw, fh) -> np.ndarray:
    side = [origin + right * (a * fw) + up * (b * fh) for a, b in _HEAD_PROFILE]
    other = [origin - right * (a * fw) + up * (b * fh) for a, b in reversed(_HEAD_PROFILE)]
    return np.array(side + other, np.float32)


def _convex_hull(pts: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.convexHull(pts.astype(np.float32))[:, 0]


def _fill(canvas: np.ndarray, polygon: np.ndarray) -> None:
    import cv2

    cv2.fillPoly(canvas, [np.round(polygon).astype(np.int32)], 1)


def _component_of(mask: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """The connected part of ``mask`` that overlaps ``seed`` most."""
    import cv2

    _, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    hits = labels[seed & mask]
    if hits.size == 0:
        return mask
    return labels == np.bincount(hits).argmax()


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Background parts not connected to the border become foreground."""
    import cv2

    background = ~mask
    _, labels = cv2.connectedComponents(background.astype(np.uint8), connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    holes = background & ~np.isin(labels, edge[edge > 0])
    return mask | holes
