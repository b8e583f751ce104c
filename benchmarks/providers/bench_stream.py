"""How much CPU each provider spends per streamed chunk, against the floor of reading the bytes.

Providers used for RL rollouts and load tests run thousands of streams at once: their parsing
cost is their users' CPU bill. This script replays the same vLLM-shaped SSE bytes in-process
(respx, no sockets; one network chunk per SSE event, as a server flushes them) through:

- the floor: httpx + respx, ``aiter_lines``, ``json.loads`` of each ``data:`` payload, nothing else;
- each of our four providers' ``stream``;
- upstream ``strands.models.openai.OpenAIModel`` and ``strands.models.llamacpp.LlamaCppModel``.

Per-chunk cost is the slope between an N-chunk stream and a 1-chunk stream; fixed cost is the
time of the 1-chunk stream (request, response, message framing). Each figure is the median over
many interleaved rounds (the machine is shared and noisy).

Run: ``.venv/bin/python benchmarks/providers/bench_stream.py [--rounds 15]`` (a few minutes on a busy machine)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import statistics
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import respx

BASE = "http://bench.invalid"
MODEL = "smollm2"
MESSAGES: list[Any] = [{"role": "user", "content": [{"text": "Tell me a long story."}]}]
TEXT_TARGET = 1.25
TOOL_TARGET = 1.5
FIXED_TARGET_MS = 0.5


# -- the recorded bytes, shaped as vLLM sends them ---------------------------------------------------


def _chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> bytes:
    payload = {
        "id": "chatcmpl-8f3c2a9d41b04e6c9a1f0e2d7b5c3a10",
        "object": "chat.completion.chunk",
        "created": 1763790000 + index // 50,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _tail(finish: str, completion_tokens: int) -> list[bytes]:
    usage = {
        "id": "chatcmpl-8f3c2a9d41b04e6c9a1f0e2d7b5c3a10",
        "object": "chat.completion.chunk",
        "created": 1763790100,
        "model": MODEL,
        "choices": [],
        "usage": {"prompt_tokens": 31, "total_tokens": 31 + completion_tokens, "completion_tokens": completion_tokens},
    }
    return [
        _chunk(completion_tokens + 1, {}, finish),
        b"data: " + json.dumps(usage, separators=(",", ":")).encode() + b"\n\n",
        b"data: [DONE]\n\n",
    ]


WORDS = "the quick brown fox jumps over a lazy dog while über café naïve résumé 東京 weather".split()


def text_stream(n: int) -> list[bytes]:
    """n content chunks, each one token-sized word."""
    chunks = [_chunk(0, {"role": "assistant", "content": ""})]
    chunks += [_chunk(i, {"content": " " + WORDS[i % len(WORDS)]}) for i in range(1, n + 1)]
    return chunks + _tail("stop", n)


def tool_stream(n: int) -> list[bytes]:
    """One tool call over n chunks: the header, then argument pieces."""
    header = {
        "tool_calls": [
            {"id": "chatcmpl-tool-5be3d1a0c8f2", "type": "function", "index": 0,
             "function": {"name": "write_story", "arguments": ""}}
        ]
    }
    pieces = ['{"title": "A', *[" " + WORDS[i % len(WORDS)] for i in range(max(n - 3, 0))], '"}']
    chunks = [_chunk(0, {"role": "assistant", "content": ""}), _chunk(1, header)]
    chunks += [_chunk(i + 2, {"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for i, p in enumerate(pieces)]
    return chunks + _tail("tool_calls", n)


class ReplayStream(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self):  # type: ignore[override]
        for chunk in self._chunks:
            yield chunk


# -- the contenders ----------------------------------------------------------------------------------


async def floor_consume(client: httpx.AsyncClient) -> int:
    count = 0
    async with client.stream("POST", f"{BASE}/v1/chat/completions", json={"model": MODEL, "stream": True}) as r:
        async for line in r.aiter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                json.loads(line[6:])
                count += 1
    return count


async def model_consume(model: Any) -> int:
    count = 0
    async for _event in model.stream(MESSAGES):
        count += 1
    return count


def build_contenders() -> dict[str, Callable[[], Awaitable[int]]]:
    from strands.models.llamacpp import LlamaCppModel as UpstreamLlamaCpp
    from strands.models.openai import OpenAIModel as UpstreamOpenAI

    from providers import LlamaCppModel, NeuronModel, OpenAIModel, VLLMModel

    floor_client = httpx.AsyncClient()
    models: dict[str, Any] = {
        "NeuronModel": NeuronModel(model_id=MODEL, base_url=f"{BASE}/v1"),
        "VLLMModel": VLLMModel(base_url=f"{BASE}/v1", model_id=MODEL),
        "LlamaCppModel": LlamaCppModel(base_url=BASE, model_id=MODEL),
        "OpenAIModel": OpenAIModel(client_args={"base_url": f"{BASE}/v1", "api_key": "sk-bench"}, model_id=MODEL),
        "upstream OpenAIModel": UpstreamOpenAI(client_args={"base_url": f"{BASE}/v1", "api_key": "sk-bench"}, model_id=MODEL),
        "upstream LlamaCppModel": UpstreamLlamaCpp(base_url=BASE, model_id=MODEL),
    }
    contenders: dict[str, Callable[[], Awaitable[int]]] = {"floor (httpx+respx, lines, json.loads)": lambda: floor_consume(floor_client)}
    for name, model in models.items():
        contenders[name] = lambda model=model: model_consume(model)
    return contenders


# -- measuring -------------------------------------------------------------------------------------


async def measure(rounds: int, n_text: int, n_tool: int) -> dict[str, dict[str, float]]:
    current: list[list[bytes]] = [[]]

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=ReplayStream(current[0]))

    streams = {"text": text_stream(n_text), "tool": tool_stream(n_tool), "text1": text_stream(1), "tool1": tool_stream(1)}
    sizes = {"text": n_text, "tool": n_tool}
    timings: dict[tuple[str, str], list[float]] = {}
    with respx.mock(assert_all_called=False) as router:
        router.post(url__regex=r".*/chat/completions$").mock(side_effect=respond)
        contenders = build_contenders()
        repeats: dict[tuple[str, str], int] = {}
        for shape, chunks in streams.items():  # warm-up, a check that every contender reads it all, calibration
            current[0] = chunks
            for name, run in contenders.items():
                for _ in range(3):
                    if await run() == 0:
                        raise SystemExit(f"{name} produced nothing for the {shape} stream")
                start = time.process_time()
                await run()
                single = time.process_time() - start
                repeats[(name, shape)] = max(1, min(200, int(0.02 / max(single, 1e-6))))
        for _ in range(rounds):
            gc.collect()
            for shape, chunks in streams.items():
                current[0] = chunks
                for name, run in contenders.items():
                    count = repeats[(name, shape)]
                    # CPU time of this process: other jobs on the shared cores do not count.
                    start = time.process_time()
                    for _ in range(count):
                        await run()
                    timings.setdefault((name, shape), []).append((time.process_time() - start) / count)

    results: dict[str, dict[str, float]] = {}
    for name in contenders:
        row: dict[str, float] = {}
        for shape in ("text", "tool"):
            long = statistics.median(timings[(name, shape)])
            short = statistics.median(timings[(name, shape + "1")])
            row[f"{shape}_us_per_chunk"] = (long - short) / (sizes[shape] - 1) * 1e6
            row[f"{shape}_fixed_ms"] = short * 1e3
        results[name] = row
    return results


def print_table(results: dict[str, dict[str, float]], n_text: int, n_tool: int, rounds: int) -> None:
    floor = next(iter(results.values()))
    head = (
        f"{'implementation':<40} {'text us/chunk':>13} {'x floor':>8} {'tools us/chunk':>14} {'x floor':>8} "
        f"{'fixed ms/req':>12} {'over floor':>10}  target"
    )
    print(f"{n_text}-chunk text and {n_tool}-chunk tool-call streams, vLLM-shaped bytes via respx; "
          f"median of {rounds} rounds; fixed = 1-chunk text stream")
    print(head)
    print("-" * len(head))
    for index, (name, row) in enumerate(results.items()):
        text_ratio = row["text_us_per_chunk"] / floor["text_us_per_chunk"]
        tool_ratio = row["tool_us_per_chunk"] / floor["tool_us_per_chunk"]
        over_floor_ms = row["text_fixed_ms"] - floor["text_fixed_ms"]
        verdict = ""
        if index and not name.startswith("upstream"):
            ok = text_ratio <= TEXT_TARGET and tool_ratio <= TOOL_TARGET and over_floor_ms < FIXED_TARGET_MS
            verdict = "met" if ok else "MISSED"
        print(
            f"{name:<40} {row['text_us_per_chunk']:>13.2f} {text_ratio:>7.2f}x {row['tool_us_per_chunk']:>14.2f} "
            f"{tool_ratio:>7.2f}x {row['text_fixed_ms']:>12.3f} {over_floor_ms:>+10.3f}  {verdict}"
        )
    print(
        f"targets: text <= {TEXT_TARGET}x floor, tools <= {TOOL_TARGET}x floor, "
        f"fixed cost over the floor's own request < {FIXED_TARGET_MS} ms; times are process CPU time"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved measurement rounds (median taken)")
    parser.add_argument("--text-chunks", type=int, default=1000)
    parser.add_argument("--tool-chunks", type=int, default=500)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # upstream providers log per request
    warnings.simplefilter("ignore")
    results = asyncio.run(measure(args.rounds, args.text_chunks, args.tool_chunks))
    print_table(results, args.text_chunks, args.tool_chunks, args.rounds)


if __name__ == "__main__":
    main()
