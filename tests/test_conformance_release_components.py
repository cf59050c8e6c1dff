"""The conformance suite on the EMOPortraits components not already checked beside their own tests
(the appearance encoder, embedder, warpers, volumes and renderer are, in their test modules), all
through the installed registry, i.e. found through the `emoportraits` entry point."""

from __future__ import annotations

from emoportraits_conformance import conformance_tests

test_identity_encoder = conformance_tests("encoder", "emoportraits_identity_encoder", preset="tiny")
test_motion_encoder = conformance_tests("encoder", "emoportraits_motion_encoder", preset="tiny")
test_resnet18_backbone = conformance_tests("backbone", "resnet18", preset="tiny")
test_resnet50_backbone = conformance_tests("backbone", "resnet50", preset="tiny")
test_video_driver = conformance_tests("driver", "video", preset="release")
