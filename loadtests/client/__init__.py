"""The load-test client: one HTTP/1.1 connection per user, SSE framing, chat-stream accounting, failures.

Plain Python with no Locust import (under Locust the sockets are gevent's and the same code is
cooperative), so the benchmarks and unit tests use it as is.
- `connection`: the target URL, the keep-alive connection and its timed body pieces;
- `sse`: bytes to SSE events; `chat_stream`: events to text, tool calls, token counts and latencies;
- `nonconformance`: the conformance suite's rules over one stream's raw bytes (`check_stream`);
- `failures`: `RequestFailure` and its kinds, HTTP statuses to kinds.
"""
