"""Parity of the identity and motion encoders with the official networks (recipe weights).

The recipe checkpoint (released layout, spectral norm / weight standardisation resolved) goes
through the encoders' key map into release-configured components (strict load); every
intermediate is compared with ../shared/official/parity/reference_seed0.safetensors under the
README's tolerance (``parity.check``).
"""

from __future__ import annotations

import pytest
import torch
from parity import check, reference_tensor

from emoportraits_plugins.convert.keymap import apply_rules
from emoportraits_plugins.convert.keymap_encoders import RULES
from emoportraits_plugins.encoders import IdentityEncoder, MotionEncoder

pytestmark = pytest.mark.parity

OUR_GROUPS = ("idt_embedder_nw.", "expression_embedder_nw.")


def _component_state(tensors: dict, component: str) -> dict:
    prefix = component + "."
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


@pytest.fixture(scope="module")
def mapped(official_state, official_head_pose) -> dict:
    main = {k: v for k, v in official_state.items() if k.startswith(OUR_GROUPS)}
    out = apply_rules(main, RULES, source="main", where="328_model.pth").tensors
    out.update(
        apply_rules(official_head_pose, RULES, source="head_pose", where="head_pose_regressor.pth").tensors
    )
    return out


@pytest.fixture(scope="module")
def identity_encoder(mapped) -> IdentityEncoder:
    enc = IdentityEncoder()
    enc.load_state_dict(_component_state(mapped, "identity_encoder"), strict=True)
    return enc.eval()


@pytest.fixture(scope="module")
def motion_encoder(mapped) -> MotionEncoder:
    enc = MotionEncoder()
    enc.load_state_dict(_component_state(mapped, "motion_encoder"), strict=True)
    return enc.eval()


@pytest.fixture(scope="module")
def inputs(parity_reference) -> dict:
    ref = parity_reference
    return {
        "source": reference_tensor(ref, "input.source") * reference_tensor(ref, "input.source_mask"),
        "driver": reference_tensor(ref, "input.driver"),
    }


def test_identity_embedding(identity_encoder, inputs, parity_reference):
    with torch.no_grad():
        check(parity_reference, "source.idt_embed", identity_encoder(inputs["source"]))


@pytest.mark.parametrize("side", ["source", "driver"])
def test_motion(motion_encoder, inputs, parity_reference, side):
    ref = parity_reference
    with torch.no_grad():
        out = motion_encoder.intermediates(inputs[side])  # forward() returns these as a Motion
    if side == "source":
        check(ref, "source.hpr_input_128", out["pose_input"])
    check(ref, f"{side}.hpr_raw_9", out["raw"])
    for name, ours in (
        ("scale", out["scale"]),
        ("rotation", out["angles"]),  # the reference's "rotation" is the (yaw, pitch, roll) triple
        ("translation", out["translation"]),
        ("theta", out["theta"]),
        ("img_align", out["aligned"]),
        ("exp_latent", out["expression"]),
    ):
        check(ref, f"{side}.{side}_{name}", ours)
