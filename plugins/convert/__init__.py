"""Conversion of the released EMOPortraits checkpoint (key map, re-parametrisations, writer)."""
