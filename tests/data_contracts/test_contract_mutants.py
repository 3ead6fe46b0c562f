"""Tests that kill mutmut's surviving mutants (see MUTATION.md)."""
