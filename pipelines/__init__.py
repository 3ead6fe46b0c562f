"""Pipelines: synthetic extracts, point-in-time features, labels."""
