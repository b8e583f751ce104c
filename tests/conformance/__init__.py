"""Tests of the conformance package: the suite's harness, cassettes, gate and reports."""
