"""Tests of loadtests/report."""
