"""The reference client of the load-test benchmark: asyncio + aiohttp in the style of `vllm bench serve`.

N concurrent streams in a closed loop for T seconds, each SSE line timed at arrival and parsed as
JSON (as our Locust user does), compared with the simulator's `sim-truth` comment. Prints one JSON
line: events, duration, CPU seconds and the timing errors. Run by bench_client.py on its own core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import time

import aiohttp


async def one_stream(session: aiohttp.ClientSession, url: str, body: dict, out: dict) -> None:
    t_send = time.time()
    chunk_ts: list[float] = []
    truth = None
    async with session.post(url, json=body) as resp:
        if resp.status != 200:
            out["errors"] += 1
            await resp.read()
            return
        # its own minimal chunk reading, as `vllm bench serve` does: it is the comparison, so it shares no code with ours
        async for line in resp.content:
            ts = time.time()
            if line == b"\n":
                continue
            out["events"] += 1
            if line.startswith(b"data: "):
                data = line[6:].strip()
                if data == b"[DONE]":
                    continue
                chunk = json.loads(data)
                choices = chunk.get("choices") or []
                if choices and (choices[0].get("delta") or {}).get("content"):
                    chunk_ts.append(ts)
            elif line.startswith(b": sim-truth "):
                truth = json.loads(line[12:])
    out["requests"] += 1
    if truth and chunk_ts and len(truth["emit_ms"]) == len(chunk_ts):
        emit = [truth["recv_wall"] + e / 1e3 for e in truth["emit_ms"]]
        out["ttft_err"].append(abs(chunk_ts[0] - emit[0]) * 1e3)
        out["itl_err"].extend(abs((chunk_ts[i] - chunk_ts[i - 1]) - (emit[i] - emit[i - 1])) * 1e3
                              for i in range(1, len(emit)))


async def main_async(args: argparse.Namespace) -> dict:
    url = args.host.rstrip("/") + "/v1/chat/completions"
    body = {"model": "sim-model", "messages": [{"role": "user", "content": "one two three four"}],
            "max_tokens": args.output_tokens, "stream": True, "stream_options": {"include_usage": True}}
    out = {"events": 0, "requests": 0, "errors": 0, "ttft_err": [], "itl_err": []}
    deadline = time.time() + args.seconds
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as session:
        async def worker() -> None:
            while time.time() < deadline:
                await one_stream(session, url, body, out)
        start = time.time()
        await asyncio.gather(*(worker() for _ in range(args.streams)))
        out["duration_s"] = time.time() - start
    return out


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--output-tokens", type=int, default=64)
    parser.add_argument("--cpu", type=int)
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    out = asyncio.run(main_async(args))
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    print(json.dumps({"events": out["events"], "requests": out["requests"], "errors": out["errors"],
                      "duration_s": round(out["duration_s"], 3), "cpu_s": round(cpu, 3),
                      "ttft_err_p50": _pct(out["ttft_err"], 50), "ttft_err_p99": _pct(out["ttft_err"], 99),
                      "itl_err_p50": _pct(out["itl_err"], 50), "itl_err_p99": _pct(out["itl_err"], 99)}))


if __name__ == "__main__":
    main()
