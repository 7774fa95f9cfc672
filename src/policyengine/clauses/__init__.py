"""Clause kinds: one home per kind, and the registry the schemas are generated from."""
