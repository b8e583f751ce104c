"""Tests of loadtests/client."""
