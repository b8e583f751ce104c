"""What a run reports: histograms and records while it runs, then summary.json/csv, report.html and the console summary.

Plain Python with no Locust import.
- `metrics`: mergeable latency histograms; `records`: one request as records.jsonl holds it;
- `totals`: what the report needs of every request (counts, per-second buckets), folded as it arrives;
- `nonconformance`: the streams that broke a conformance rule, by rule, concurrency and sweep stage;
- `files`: the verdict and the report files; `console`: the summary printed at the end;
- `charts`: which charts report.html shows; `plots`: the one SVG chart helper (also used by `loadtests.compare`).
"""
