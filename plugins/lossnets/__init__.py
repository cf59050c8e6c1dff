"""Frozen loss networks (VGG19, VGG-Face, the gaze VGG16, SENet50-VGGFace2) and their weight files.

The architectures are written here; the weights are files the user passes (a loss's ``weights``
config), read strictly through explicit key maps from the layouts those networks are published in
(:mod:`.weights`). No file (``weights = ""``) means fixed-seed random weights with a one-time warning,
for tests and smoke runs. The networks are frozen into non-persistent buffers (:mod:`._frozen`): no
parameters, not in any state dict, always in eval mode. They are not registry components: the loss
components (:mod:`emoportraits_plugins.losses`) build them. The BiSeNet face parser lives in
:mod:`emoportraits_plugins.face.bisenet`.
"""

from __future__ import annotations

from ._frozen import FrozenNet, freeze
from .gaze_vgg16 import GAZE_LAYERS, GazeLayout, GazeVGG16
from .senet50 import VGGFACE2_MEAN_BGR, SENet50
from .vgg19 import VGG19_RELU_X_1, VGG19Features
from .vggface import VGG16_RELU_X_1, VGGFaceFeatures, dag_conv_names
from .weights import KeyMap, load_published, read_state_dict

__all__ = [
    "GAZE_LAYERS",
    "VGG16_RELU_X_1",
    "VGG19_RELU_X_1",
    "VGGFACE2_MEAN_BGR",
    "FrozenNet",
    "GazeLayout",
    "GazeVGG16",
    "KeyMap",
    "SENet50",
    "VGG19Features",
    "VGGFaceFeatures",
    "dag_conv_names",
    "freeze",
    "load_published",
    "read_state_dict",
]
