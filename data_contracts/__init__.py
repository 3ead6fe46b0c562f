"""Executable contracts for the agency feeds (specification: data_contracts/README.md)."""
