"""Each wire's published request schema, kept as JSON Schema files beside this module.

Why: replay matches requests by order only and the request readers read meaning, so neither notices a
body the vendor itself would reject (an empty `content` array on an assistant turn of tool calls only, a
content block union with two members). Each file names its source and the date it was trimmed; the
request-content checks validate every body a provider sends against its wire's file.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

__all__ = ["SCHEMA_DIR", "assert_bodies_match_schema", "schema_errors"]

SCHEMA_DIR = Path(__file__).resolve().parent


@functools.cache
def _validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_errors(name: str, body: Any) -> list[str]:
    """Where `body` breaks the schema file `name`, one line per error (path, then the rule); [] when valid."""
    errors = sorted(_validator(name).iter_errors(body), key=lambda error: list(error.absolute_path))
    return [f"at /{'/'.join(str(part) for part in error.absolute_path)}: {error.message[:300]}" for error in errors]


def assert_bodies_match_schema(run: Any) -> None:
    """Every body a check's run sent is valid under its wire's request schema (a wire keeping none: not judged)."""
    name = run.wire.request_schema
    for number, sent in enumerate(run.sent if name else ()):
        problems = schema_errors(name, sent.body)
        assert not problems, f"request #{number} breaks schemas/{name} ({run.where()}):\n" + "\n".join(problems)
