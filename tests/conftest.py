"""The project's own tests start the real servers through the suite's session fixtures, also in runs that
do not collect the suite (`pytest tests/loadtests`), where the suite's entry point loads none of its plugins."""

pytest_plugins = ["conformance.servers.fixtures"]
