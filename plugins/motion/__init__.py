"""Motion files: a driving performance stored as per-frame motion (``extract-motion``) and played back
on any photo (the ``motion_file`` driver of the ``animate_motion`` pipeline)."""

from .format import FORMAT, FORMAT_VERSION, MotionFileHeader, is_motion_file, read_header, write_motion_file

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MotionFileHeader",
    "is_motion_file",
    "read_header",
    "write_motion_file",
]
