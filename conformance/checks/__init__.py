"""The conformance checks: one module per family, each check a matrix of provider x case x cassette."""
