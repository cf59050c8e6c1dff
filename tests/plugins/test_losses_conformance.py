"""Every loss passes the conformance suite (kind ``loss``) at its ``tiny`` preset, on a registry of the
losses package alone (random loss-network weights)."""

from __future__ import annotations

import warnings

import pytest
from conftest import plugin_registry

from emoportraits_conformance import conformance_tests
from emoportraits_core import Registry
from emoportraits_plugins import losses


@pytest.fixture
def loss_registry() -> Registry:
    return plugin_registry(losses)


@pytest.fixture(autouse=True)
def _quiet_random_weights():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*no weights file configured.*")
        yield


def _suite(name: str, preset: str = "tiny"):
    return conformance_tests("loss", name, registry="loss_registry", preset=preset)


test_vgg19_perceptual = _suite("vgg19_perceptual")
test_vggface_perceptual = _suite("vggface_perceptual")
test_gaze = _suite("gaze")
test_head_region_l1 = _suite("head_region_l1")
test_head_region_l1_bisenet = _suite("head_region_l1", "bisenet_tiny")
test_adversarial_hinge_generator = _suite("adversarial_hinge_generator")
test_adversarial_hinge_discriminator = _suite("adversarial_hinge_discriminator")
test_feature_matching = _suite("feature_matching")
test_cosface = _suite("cosface")
test_pull_push = _suite("pull_push")
test_source_driver_mismatch = _suite("source_driver_mismatch")
test_canonical_volume_l1 = _suite("canonical_volume_l1")
test_identity_cosine = _suite("identity_cosine")
