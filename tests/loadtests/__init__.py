"""Tests of the load tests: client, metrics, simulator, Locust runs (their own pytest process)."""
