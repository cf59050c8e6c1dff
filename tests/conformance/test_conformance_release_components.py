"""The conformance suite on the EMOPortraits components not already checked beside their own tests
(the appearance encoder, embedder, warpers, volumes and renderer are, in their test modules), on a
registry of the project's own plugins registered explicitly (conftest ``registry``). The installed
entry points are checked in tests/core/test_packaging.py; the end-to-end tests run through them."""

from __future__ import annotations

from emoportraits_conformance import conformance_tests

test_identity_encoder = conformance_tests(
    "encoder", "emoportraits_identity_encoder", registry="registry", preset="tiny"
)
test_motion_encoder = conformance_tests(
    "encoder", "emoportraits_motion_encoder", registry="registry", preset="tiny"
)
test_resnet18_backbone = conformance_tests("backbone", "resnet18", registry="registry", preset="tiny")
test_resnet50_backbone = conformance_tests("backbone", "resnet50", registry="registry", preset="tiny")
test_video_driver = conformance_tests("driver", "video", registry="registry", preset="release")
