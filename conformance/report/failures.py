"""A failing check told in one paragraph: which check, provider, case and cassette, and the root error.

pytest's own report of a conformance failure is a chained traceback through the provider, the SDK,
respx and pluggy: hundreds of lines, the cause at the bottom. The gate shows this paragraph instead
(the long form comes back with `--conformance-long-failures` or `--tb=long`), and baseline reasons
come from the same root error. Cassette paths are shown relative to `recordings/`, so a reason is
the same on a laptop and in CI.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.evidence import RunRecord

MAX_MESSAGE_LINES = 6
MAX_LINE_CHARS = 300


def recordings_relative(text: str) -> str:
    """`text` with the absolute recordings folder left out of every cassette path."""
    from conformance.wires import RECORDINGS_DIR  # the suite has imported the wires by the time a check fails

    return text.replace(f"{RECORDINGS_DIR}/", "")


def root_exception(error: BaseException) -> BaseException:
    """The end of the explicit `raise ... from` chain: what actually went wrong under the wrappers."""
    seen = {id(error)}
    while error.__cause__ is not None and id(error.__cause__) not in seen:
        error = error.__cause__
        seen.add(id(error))
    return error


def describe_exception(error: BaseException) -> str:
    """`Type: message`; for an assertion with its own message, without pytest's `assert ...` explanation."""
    lines = str(error).strip().splitlines()
    if isinstance(error, AssertionError) and lines and not lines[0].startswith("assert "):
        explained = next((i for i, line in enumerate(lines) if line.startswith("assert ")), len(lines))
        lines = lines[:explained]
    text = "\n".join(lines)
    name = type(error).__name__
    return f"{name}: {text}" if text else name


def failure_message(record: RunRecord, excinfo: pytest.ExceptionInfo[BaseException] | None) -> str:
    """The validator's message when it judged the events, otherwise the root exception (paths relative)."""
    if record.validator_message:
        return recordings_relative(record.validator_message)
    if excinfo is not None:
        return recordings_relative(describe_exception(root_exception(excinfo.value)))
    return "failed without a message"


def cassette_label(record: RunRecord) -> str | None:
    """The cassette's path relative to `recordings/` (`openai-chat/text_basic.vllm.json`)."""
    return f"{record.wire}/{record.cassette}.json" if record.cassette else None


def case_of(item: pytest.Item) -> str | None:
    """The case a check ran: a `case` parameter, or the `case` of its cell parameter (the suite's cells)."""
    params: dict[str, Any] = getattr(getattr(item, "callspec", None), "params", {})
    for name, value in params.items():
        case = value if name == "case" else getattr(value, "case", None)
        if isinstance(case, str):
            return case
    return None


def short_failure(item: pytest.Item, record: RunRecord, check: str, severity: str,
                  excinfo: pytest.ExceptionInfo[BaseException] | None, when: str) -> str:
    """One paragraph: a header line naming the check, then the message's first lines.

    When the check's own message differs from the root error (the check wrapped it), both are shown:
    the check's says what the check expected, the root error what the provider did.
    """
    header = [f"{check} ({severity})", f"provider {record.provider}"]
    case = case_of(item)
    if case:
        header.append(f"case {case}")
    cassette = cassette_label(record)
    if cassette:
        header.append(f"cassette {cassette}")
    if record.mode == "live":
        header.append("live")
    if when != "call":
        header.append(f"in {when}")
    lines = [" | ".join(header)]
    message = failure_message(record, excinfo)
    lines.extend(_clip(message))
    if excinfo is not None and not record.validator_message:
        outer = recordings_relative(describe_exception(excinfo.value))
        if outer.splitlines()[0] != message.splitlines()[0]:
            lines.append("raised by the check as:")
            lines.extend(_clip(outer))
    lines.append("(the full traceback: --conformance-long-failures or --tb=long)")
    return "\n".join(lines)


def _clip(text: str) -> list[str]:
    kept = [line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 3] + "..."
            for line in text.splitlines() if line.strip()][:MAX_MESSAGE_LINES]
    return ["  " + line for line in kept] or ["  (no message)"]
