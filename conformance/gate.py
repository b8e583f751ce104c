"""pytest plugin of the release gate: baselines, the conformance matrix and Allure metadata."""
