"""Tests of the scoring service: store, access control, audit trail and endpoints."""
