"""Tests of the other wire families (being folded into the suite's own harness)."""
