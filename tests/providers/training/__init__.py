"""Unit tests of providers.training."""
