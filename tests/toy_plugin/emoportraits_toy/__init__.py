"""Toy components: tiny, fast, real (they compute), used to test the framework without the
EMOPortraits networks."""
