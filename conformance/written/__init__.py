"""The written cassettes: responses no local server produces, built from each vendor's published format.

Real servers send parallel tool calls, late ids, rate limits, errors inside the stream and finish
reasons the small local model never does, and no server on this machine speaks Ollama, Bedrock,
Mistral, Writer or Llama API at all. One module per wire family writes those cassettes
(`source.kind = "written"`, with the documentation followed), all from the bytes of `builders`.

    python -m conformance.written                # rewrite every wire's written cassettes
    python -m conformance.written anthropic      # one wire (or several)
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from conformance.cassette import Cassette, write_cassette_atomically
from conformance.wires import RECORDINGS_DIR

# Wire name -> module writing its cassettes; imported only when asked for, so `builders` stays light.
WRITERS = {
    "openai-chat": "conformance.written.openai_chat",
    "anthropic": "conformance.written.anthropic",
    "ollama": "conformance.written.ollama",
    "mistral": "conformance.written.mistral",
    "writer": "conformance.written.writer",
    "llama-api": "conformance.written.llama_api",
    "bedrock-converse": "conformance.written.bedrock_converse",
    "gemini": "conformance.written.gemini",
    "sagemaker": "recordings.sagemaker.build",  # with the openai-chat streams it re-frames
    "openai-responses": "conformance.written.openai_responses",
    "sglang-generate": "conformance.written.sglang_generate",
}


def build(wire: str) -> dict[str, Cassette]:
    """The wire's written cassettes by file name, without writing them."""
    if wire not in WRITERS:
        raise ValueError(f"no written cassettes for wire {wire!r}; known wires: {', '.join(WRITERS)}")
    return import_module(WRITERS[wire]).build()


def write(wire: str, root: Path = RECORDINGS_DIR) -> list[Path]:
    """Write the wire's cassettes under `root/<wire>/`, replacing any there; returns the paths."""
    paths = []
    for file_name, cassette in build(wire).items():
        path = root / wire / file_name
        write_cassette_atomically(cassette, path)
        paths.append(path)
    return paths
