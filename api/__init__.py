"""The scoring service for MASH triage, its store and the command line."""
