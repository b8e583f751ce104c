"""Retokenization drift report: how often re-tokenizing decoded text differs from vLLM's own ids.

Over the bundled prompts (providers/training/data/drift_prompts.json), greedy and sampled
(temperature 1, seeded), it asks vLLM for a response with ``return_token_ids`` through our
``VLLMModel``, then counts

- text drift: tokenizing the decoded response again gives other ids than vLLM sampled;
- chat drift: the next turn's prompt (the response sent back as an assistant message) does not
  start with the previous prompt ids + response ids, so a trajectory cannot be continued.

Offline (default) it replays the cassette recorded from our vLLM server; ``--live`` starts that
server (conformance.servers), ``--base-url`` uses a running one; ``--record`` rewrites the cassette.

    python benchmarks/drift/drift_report.py
    python benchmarks/drift/drift_report.py --live --record
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from conformance.capture import Capture  # noqa: E402
from conformance.cassette import Cassette, load_cassette, write_cassette_atomically  # noqa: E402
from conformance.replay import Replay  # noqa: E402
from providers import VLLMModel  # noqa: E402
from providers.training import ModelCallTokens, TokenRecorder  # noqa: E402
from providers.training.drift import chat_round_trip, drift_prompts, text_round_trip  # noqa: E402
from providers.training.tokenizer import SERVED_MODEL_ID  # noqa: E402

CASSETTE_PATH = ROOT / "recordings" / "openai-chat" / "tokens_drift.vllm.json"
MAX_TOKENS = 48
FOLLOW_UP = "Thank you."
SETTINGS: dict[str, dict[str, Any]] = {
    "greedy": {"temperature": 0.0},
    "sampled": {"temperature": 1.0, "top_p": 1.0},
}


@dataclass
class Tally:
    samples: int = 0
    text_drift: int = 0
    response_tokens: int = 0
    chat_drift: int = 0
    decode_mismatch: int = 0
    examples: list[str] = field(default_factory=list)


async def _call(model: VLLMModel, messages: list[dict[str, Any]], params: dict[str, Any]) -> ModelCallTokens:
    model.update_config(params=params)
    recorder = TokenRecorder()
    async for event in model.stream(messages):
        recorder.record_event(event)
    if len(recorder.history) != 1:
        raise RuntimeError(f"expected one model call from one stream, recorded {len(recorder.history)}")
    return recorder.history[0]


async def run(base_url: str, model_id: str) -> dict[str, Tally]:
    model = VLLMModel(base_url=base_url, model_id=model_id, return_token_ids=True)
    tallies = {name: Tally() for name in SETTINGS}
    for number, prompt in enumerate(drift_prompts()):
        for name, sampling in SETTINGS.items():
            params = {**sampling, "max_tokens": MAX_TOKENS, "seed": number}
            user = {"role": "user", "content": [{"text": prompt}]}
            first = await _call(model, [user], params)
            if not first.has_token_ids or not first.prompt_token_ids:
                raise RuntimeError(f"prompt {number}: the server sent no token ids; is it vLLM >= 0.10.2?")
            follow_up = await _call(
                model,
                [user, {"role": "assistant", "content": [{"text": first.text}]},
                 {"role": "user", "content": [{"text": FOLLOW_UP}]}],
                {"temperature": 0.0, "max_tokens": 1},
            )
            tally = tallies[name]
            tally.samples += 1
            text = text_round_trip(first.token_ids or ())
            tally.response_tokens += len(text.generated)
            if text.text != first.text:
                tally.decode_mismatch += 1
                tally.examples.append(f"{name} #{number}: decoded ids {text.text!r} != streamed {first.text!r}")
            if text.drifted:
                tally.text_drift += 1
                tally.examples.append(f"{name} #{number} text drift {text.describe()}")
            chat = chat_round_trip(first, follow_up)
            if chat.drift is not None:
                tally.chat_drift += 1
                tally.examples.append(f"{name} #{number} chat drift: {chat.drift.describe()}")
    return tallies


@contextlib.contextmanager
def _live_root(args: argparse.Namespace) -> Iterator[str]:
    if args.base_url:
        yield args.base_url.rstrip("/")
        return
    from conformance.servers import provision, start_server

    provision("vllm", progress=lambda message: print(f"[vllm] {message}", file=sys.stderr))
    with start_server("vllm") as server:
        yield server.base_url


def _write_cassette(capture: Capture, version: str, model_id: str) -> None:
    # The provider stops reading at the SSE `[DONE]` event, which the capture counts as unread;
    # a body ending in [DONE] is the server's whole answer, so it is complete.
    for exchange in capture.exchanges:
        if exchange.end is None and b"".join(chunk.data for chunk in exchange.chunks).rstrip().endswith(b"data: [DONE]"):
            exchange.end, exchange.error = "complete", None
    reasons = capture.incomplete_reasons()
    if reasons:
        raise SystemExit(f"recording incomplete, cassette kept: {'; '.join(reasons[:3])}")
    cassette = Cassette(
        wire="openai-chat", case="tokens_drift",
        source={"kind": "recorded", "server": "vllm", "server_version": f"vllm {version}",
                "model": model_id, "recorded_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"),
                "provider": "vllm", "by": "benchmarks/drift/drift_report.py"},
        interactions=capture.interactions(),
    )
    write_cassette_atomically(cassette, CASSETTE_PATH)
    size = CASSETTE_PATH.stat().st_size
    print(f"wrote {CASSETTE_PATH} ({len(cassette.interactions)} interactions, {size / 1e6:.2f} MB)", file=sys.stderr)


def _report(tallies: dict[str, Tally], source: str, seconds: float) -> None:
    print(f"retokenization drift over {len(drift_prompts())} bundled prompts, max_tokens={MAX_TOKENS} ({source}, {seconds:.1f} s)")
    print(f"{'setting':<10}{'samples':>8}{'tokens':>8}{'text drift':>12}{'chat drift':>12}{'decode != text':>16}")
    for name, tally in tallies.items():
        print(f"{name:<10}{tally.samples:>8}{tally.response_tokens:>8}{tally.text_drift:>12}{tally.chat_drift:>12}"
              f"{tally.decode_mismatch:>16}")
    print("text drift: decoded response re-tokenized != vLLM's ids; chat drift: next turn's prompt ids do not extend\n"
          "prompt + response ids; decode != text: the ids decode to other text than was streamed (e.g. a character\n"
          "cut in half by max_tokens, which vLLM holds back from the stream)")
    examples = [example for tally in tallies.values() for example in tally.examples]
    for example in examples[:12]:
        print("  " + example)
    if len(examples) > 12:
        print(f"  ... and {len(examples) - 12} more")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--live", action="store_true", help="start our vLLM server and sample from it")
    parser.add_argument("--base-url", help="a running vLLM server root, e.g. http://127.0.0.1:8000 (implies --live)")
    parser.add_argument("--model-id", default=SERVED_MODEL_ID, help="served model id (default %(default)s)")
    parser.add_argument("--record", action="store_true", help=f"with --live: rewrite {CASSETTE_PATH.name}")
    parser.add_argument("--json", type=Path, help="also write the counts as JSON to this file")
    args = parser.parse_args(argv)
    live = args.live or bool(args.base_url)
    if args.record and not live:
        parser.error("--record rewrites the cassette from a live server: add --live or --base-url")

    started = time.perf_counter()
    if live:
        with _live_root(args) as root:
            version = httpx.get(root + "/version", timeout=5).json().get("version", "unknown")
            with Capture() as capture:
                tallies = asyncio.run(run(root + "/v1", args.model_id))
        source = f"live {root}, vllm {version}"
    else:
        cassette = load_cassette(CASSETTE_PATH)
        with Replay(cassette) as replay:
            tallies = asyncio.run(run("http://vllm.replay/v1", args.model_id))
        if replay.mismatches or replay.unplayed():
            raise SystemExit(f"replay of {CASSETTE_PATH} went wrong: {replay.mismatches[:1]} "
                             f"{len(replay.unplayed())} interaction(s) unplayed; re-record with --live --record")
        source = f"replayed from {CASSETTE_PATH.relative_to(ROOT)}, recorded {cassette.source.get('recorded_at')}"
    _report(tallies, source, time.perf_counter() - started)
    if live and args.record:
        _write_cassette(capture, version, args.model_id)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({name: {k: v for k, v in vars(t).items()} for name, t in tallies.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
