"""Filter the start-up chatter that mediapipe's C++ side (absl, glog, TFLite) prints on stderr.

Those lines are written straight to file descriptor 2 when a graph first runs ("Created
TensorFlow Lite XNNPACK delegate", "All log messages before absl::InitializeLog()", feedback
manager warnings); ``GLOG_minloglevel`` / ``TF_CPP_MIN_LOG_LEVEL`` do not reach them.
:func:`quiet_native_stderr` captures fd 2 around such a call and writes back every line that is
*not* one of the known harmless messages, so real errors stay visible. The graphs log from their
own threads while starting, so callers run one warm-up frame inside the block.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator

__all__ = ["quiet_native_stderr"]

_NOISE = re.compile(
    r"XNNPACK delegate|absl::InitializeLog|inference_feedback_manager|landmark_projection_calculator"
    r"|gl_context|Feedback manager requires"
)


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Run the block with fd 2 captured; re-emit the captured lines that are not known noise."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        fd = 2
    try:
        saved = os.dup(fd)
    except OSError:  # no usable stderr: nothing to filter
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as capture:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(capture.fileno(), fd)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", "replace")
            kept = [line for line in text.splitlines() if line.strip() and not _NOISE.search(line)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
