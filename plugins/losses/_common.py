"""Pieces shared by the loss components: port specs, example values, L1, a cosine that is safe at 0,
image pyramids, and running a frozen network in its own dtype."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from emoportraits_core import InputError, PortSpec
from emoportraits_core.interfaces import Loss

__all__ = [
    "SCALAR",
    "ImagePairLoss",
    "check_layer_weights",
    "cosine",
    "features_spec",
    "halve",
    "image_spec",
    "l1",
    "pyramid_feature_l1",
    "random_images",
    "require_same_shape",
]

#: the output spec of every loss: a () float tensor.
SCALAR = PortSpec("scalar", ())


def image_spec(size: int) -> PortSpec:
    """``(B, 3, size, size)`` RGB in [0, 1]."""
    return PortSpec("image", ("B", 3, size, size), (0.0, 1.0))


def features_spec() -> PortSpec:
    """A list (per scale) of float tensors (or of lists of them): discriminator outputs."""
    return PortSpec("features")


def random_images(
    batch: int, size: int, generator: torch.Generator | None, dtype: torch.dtype, device: torch.device | str
) -> Tensor:
    """``(batch, 3, size, size)`` uniform in [0, 1]."""
    return torch.rand(batch, 3, size, size, generator=generator, dtype=dtype).to(device)


def l1(a: Tensor, b: Tensor) -> Tensor:
    """``mean |a - b|`` over every element (a () tensor)."""
    return (a - b).abs().mean()


def cosine(a: Tensor, b: Tensor, eps: float = 1e-8) -> Tensor:
    """Cosine similarity along the last dim, ``(..., E), (..., E) -> (...)``, safe at zero vectors:
    ``(a.b + eps) / sqrt((|a|^2 + eps) (|b|^2 + eps))``.

    Exactly 1 for ``a == b`` (zero vectors included), in [-1, 1] (Cauchy-Schwarz), and with finite
    gradients everywhere (the square root's argument is at least ``eps**2``). For vectors far from 0
    it equals the usual cosine to within ``eps / (|a| |b|)``.
    """
    dot = (a * b).sum(-1)
    return (dot + eps) / torch.sqrt(((a * a).sum(-1) + eps) * ((b * b).sum(-1) + eps))


def halve(x: Tensor) -> Tensor:
    """Bilinear x0.5 (``align_corners=False``), the release's pyramid step."""
    return F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)


def require_same_shape(where: str, **tensors: Tensor) -> None:
    """Raise InputError unless every tensor has the same shape (named in the message)."""
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{n} {s}" for n, s in shapes.items())
        raise InputError(f"{where}: inputs must have the same shape, got {listed}")


def pyramid_feature_l1(
    features: Any, pred: Tensor, target: Tensor, layer_weights: tuple[float, ...], num_scales: int
) -> Tensor:
    """``sum_layers w * L1(features(pred), features(target))`` averaged over an image pyramid of
    ``num_scales`` bilinear halvings (the release's perceptual losses); target features without
    gradient. ``features(x) -> [per-layer tensors]``."""
    total = pred.new_zeros(())
    for scale in range(num_scales):
        if scale:
            pred, target = halve(pred), halve(target)
        with torch.no_grad():
            wanted = features(target)
        got = features(pred)
        for w, a, b in zip(layer_weights, got, wanted):
            total = total + w * l1(a, b).to(total.dtype)
    return total / num_scales


def check_layer_weights(layers: tuple[int, ...], layer_weights: tuple[float, ...]) -> None:
    """ValueError unless there are layers and one weight per layer (for the perceptual configs)."""
    if len(layers) != len(layer_weights) or not layers:
        raise ValueError(f"layers {layers} and layer_weights {layer_weights} must match in length")


class ImagePairLoss(Loss):
    """A loss of two images ``pred``, ``target`` ``(B, 3, S, S)`` in [0, 1], with S the config field
    named by ``side_field``: the ports, output spec and example inputs every such loss declares."""

    inputs: ClassVar[dict[str, str]] = {"pred": "image", "target": "image"}
    side_field: ClassVar[str] = "image_size"

    def side(self) -> int:
        return int(getattr(self.config, self.side_field))

    def input_specs(self) -> dict[str, PortSpec]:
        spec = image_spec(self.side())
        return {"pred": spec, "target": spec}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"loss": SCALAR}

    def example_inputs(
        self, batch: int = 2, *, generator: Any = None, dtype: Any = torch.float32, device: Any = "cpu"
    ) -> dict[str, Any]:
        s = self.side()
        return {
            "pred": random_images(batch, s, generator, dtype, device),
            "target": random_images(batch, s, generator, dtype, device),
        }
