"""emoportraits_conformance: the conformance suite (importable, and a pytest plugin)."""
