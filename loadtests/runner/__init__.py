"""The Locust side of the load tests: the only package here that imports Locust (which monkey-patches the process).

A scenario file calls `listeners.install(spec)` and subclasses the user and the shape it returns.
- `listeners`: options, event listeners, worker-to-master merging; `state`: the run's `RunState`;
- `user`: the Locust user; `requests`: one request on the hot path, its accounting off it;
- `shapes`: sweep stages as a `LoadTestShape`; `schedule`: the open-loop arrival schedule;
- `options`, `workloads`: what a run is asked to do; `target`: the simulator process, model discovery;
- `pauses`: what would hold the event loop while measuring (the garbage collector, Locust's stop), paid before; `neuron`: bucket warmup and sequence length.
`options`, `schedule` and `workloads` import no Locust, so the unit tests use them directly.
"""
