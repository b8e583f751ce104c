"""pytest plugin of the conformance suite (options and fixtures); loaded through the pytest11 entry point."""
