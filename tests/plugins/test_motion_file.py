"""The motion-file plugin (`emoportraits_plugins.motion.plugin`, its own entry point): its driver
passes the conformance suite, on the project's plugins registered explicitly (conftest ``registry``).
(Extracting and animating motion files through the command line: tests/e2e/test_motion_file_cli.py.)"""

from __future__ import annotations

from emoportraits_conformance import conformance_tests

test_motion_file_driver = conformance_tests("driver", "motion_file", registry="registry", preset="tiny")
