"""pytest plugin entry (``pytest11``) of the conformance suite."""
