"""The shared core of the Locust scenarios: streaming client, metric math, workloads, schedule, report.

Only `locust_glue` imports Locust (which monkey-patches the process); everything else is plain Python
that the benchmarks and unit tests use without it.
"""
