"""Tests of conformance.servers: provisioning, starting and stopping the real local servers."""
