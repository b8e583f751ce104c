"""Tests of loadtests/runner."""
