"""The suite's fault servers: hostile answers in every wire's framing, served over a loopback socket.

`wire_bytes` frames each fault per wire, `server` serves a fault script on 127.0.0.1, and `probe`
drives one provider against one fault within a bound; the robustness checks and the timing
benchmark (`benchmarks/conformance/robustness_times.py`) are built on `probe`.
"""
