"""Tests of loadtests/sim."""
