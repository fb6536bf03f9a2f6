"""Transports around the engine: each renders replies and performs effects, nothing more."""
