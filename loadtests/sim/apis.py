"""The simulator's Responses API and Anthropic Messages endpoints: the same plans, written in each API's events.

A request of either API is read into the chat-completions view the planner knows (`chat_view`: turns,
tools, tool choice, output schema, output length), so timing, slots, tool calls from the schema and the
faults are the same on every API. Only the frames differ: `ApiFrames.content` writes one planned chunk
as that API's output event, `prelude` the events before the first token (written at admission, so a
client that took `response.created` or `message_start` for the first token would be caught by the
ground truth), and `finish` the closing events with the usage. Chat keeps its own inlined frames.
`finish_contradicts` cannot be said on the Responses API (one word, `completed`, ends text and calls alike).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loadtests.sim.responses import SimStream

API_PATHS = {"/v1/chat/completions": "chat", "/v1/responses": "responses", "/v1/messages": "messages"}


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()


def chat_view(api: str, body: dict[str, Any]) -> dict[str, Any]:
    """A Responses or Messages request read as the chat-completions body the planner reads (ValueError when unreadable)."""
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    view = {key: body[key] for key in ("model", "stream", "sim_fault") if key in body}
    if api == "responses":
        items = body.get("input")
        if isinstance(items, str):
            items = [{"type": "message", "role": "user", "content": items}]
        if not isinstance(items, list):
            raise ValueError("body must have an 'input' list or string")
        view["messages"] = ([{"role": "system", "content": body["instructions"]}] if body.get("instructions") else []) + [
            _responses_turn(item) for item in items]
        view["tools"] = [{"type": "function", "function": tool} for tool in body.get("tools") or []]
        view["max_tokens"] = body.get("max_output_tokens")
        fmt = (body.get("text") or {}).get("format") or {}
        if fmt.get("type") == "json_schema":
            view["response_format"] = {"type": "json_schema", "json_schema": {"schema": fmt.get("schema")}}
        if body.get("tool_choice") is not None:
            view["tool_choice"] = body["tool_choice"]
        return view
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise ValueError("body must have a 'messages' list")
    view["messages"] = ([{"role": "system", "content": body["system"]}] if body.get("system") else []) + [
        _anthropic_turn(message) for message in messages]
    view["tools"] = [{"type": "function", "function": {"name": tool.get("name"), "parameters": tool.get("input_schema")}}
                     for tool in body.get("tools") or []]
    view["max_tokens"] = body.get("max_tokens")
    choice = (body.get("tool_choice") or {}).get("type")
    if choice:
        view["tool_choice"] = {"any": "required", "tool": "required"}.get(choice, choice)
    return view


def _responses_turn(item: dict[str, Any]) -> dict[str, Any]:
    kind = item.get("type", "message")
    if kind == "function_call":
        return {"role": "assistant", "tool_calls": [{"function": {"arguments": item.get("arguments", "")}}]}
    if kind == "function_call_output":
        return {"role": "tool", "content": item.get("output")}
    return {"role": item.get("role"), "content": item.get("content")}


def _anthropic_turn(message: dict[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
    if blocks and all(block.get("type") == "tool_result" for block in blocks):
        return {"role": "tool", "content": [block.get("content") for block in blocks]}
    calls = [{"function": {"arguments": json.dumps(block.get("input"))}} for block in blocks if block.get("type") == "tool_use"]
    text = " ".join(block.get("text", "") for block in blocks if block.get("type") == "text")
    return {"role": message.get("role"), "content": text, **({"tool_calls": calls} if calls else {})}


class ApiFrames:
    """One API's events for a planned stream; one shared instance per API (per-stream names derive from its id)."""

    keep_alive = b""  # an event without output, for the `empty_choices` fault

    def prelude(self, st: SimStream) -> bytes:
        raise NotImplementedError

    def content(self, st: SimStream, delta: str) -> bytes:
        """The planned chunk `delta` (a chat delta as JSON text) as this API's output event."""
        raise NotImplementedError

    def finish(self, st: SimStream, finish: str, output_tokens: int) -> list[bytes]:
        """The closing events, the terminal one last; `finish` is the chat word the plan (or a fault) chose."""
        raise NotImplementedError


class ResponsesFrames(ApiFrames):
    keep_alive = _sse({"type": "response.in_progress", "response": {"status": "in_progress"}})

    def prelude(self, st: SimStream) -> bytes:
        response = {"id": st.rid, "object": "response", "status": "in_progress", "model": st.conn.server.profile.model_id}
        out = [_sse({"type": "response.created", "response": response}),
               _sse({"type": "response.in_progress", "response": response})]
        if st.kind != "tool":
            out += [_sse({"type": "response.output_item.added", "output_index": 0, "item": {
                        "id": "msg_" + st.rid, "type": "message", "role": "assistant", "status": "in_progress", "content": []}}),
                    _sse({"type": "response.content_part.added", "item_id": "msg_" + st.rid, "output_index": 0,
                          "content_index": 0, "part": {"type": "output_text", "text": ""}})]
        return b"".join(out)

    def content(self, st: SimStream, delta: str) -> bytes:
        d = json.loads(delta)
        if "content" in d:
            return _sse({"type": "response.output_text.delta", "item_id": "msg_" + st.rid, "output_index": 0,
                         "content_index": 0, "delta": d["content"]})
        call = d["tool_calls"][0]
        if "id" in call:
            return _sse({"type": "response.output_item.added", "output_index": 0, "item": {
                "id": "fc_" + st.rid, "type": "function_call", "status": "in_progress", "call_id": call["id"],
                "name": call["function"]["name"], "arguments": ""}})
        return _sse({"type": "response.function_call_arguments.delta", "item_id": "fc_" + st.rid, "output_index": 0,
                     "delta": call["function"]["arguments"]})

    def finish(self, st: SimStream, finish: str, output_tokens: int) -> list[bytes]:
        item = "fc_" if st.kind == "tool" else "msg_"
        done = _sse({"type": "response.output_item.done", "output_index": 0, "item": {"id": item + st.rid, "status": "completed"}})
        usage = {"input_tokens": st.prompt_tokens, "output_tokens": output_tokens,
                 "total_tokens": st.prompt_tokens + output_tokens}
        response: dict[str, Any] = {"id": st.rid, "object": "response", "status": "completed", "usage": usage}
        kind = "response.completed"
        if finish == "length":
            kind, response["status"] = "response.incomplete", "incomplete"
            response["incomplete_details"] = {"reason": "max_output_tokens"}
        return [done, _sse({"type": kind, "response": response})]


class MessagesFrames(ApiFrames):
    keep_alive = _sse({"type": "ping"})
    STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}

    def prelude(self, st: SimStream) -> bytes:
        out = [_sse({"type": "message_start", "message": {
            "id": st.rid, "type": "message", "role": "assistant", "content": [], "model": st.conn.server.profile.model_id,
            "stop_reason": None, "usage": {"input_tokens": st.prompt_tokens, "output_tokens": 0}}})]
        if st.kind != "tool":
            out.append(_sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}))
        return b"".join(out)

    def content(self, st: SimStream, delta: str) -> bytes:
        d = json.loads(delta)
        if "content" in d:
            return _sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": d["content"]}})
        call = d["tool_calls"][0]
        if "id" in call:
            return _sse({"type": "content_block_start", "index": 0, "content_block": {
                "type": "tool_use", "id": "toolu_" + call["id"], "name": call["function"]["name"], "input": {}}})
        return _sse({"type": "content_block_delta", "index": 0,
                     "delta": {"type": "input_json_delta", "partial_json": call["function"]["arguments"]}})

    def finish(self, st: SimStream, finish: str, output_tokens: int) -> list[bytes]:
        return [_sse({"type": "content_block_stop", "index": 0}),
                _sse({"type": "message_delta", "delta": {"stop_reason": self.STOP_REASONS.get(finish, finish)},
                      "usage": {"output_tokens": output_tokens}}),
                _sse({"type": "message_stop"})]


FRAMES: dict[str, ApiFrames] = {"responses": ResponsesFrames(), "messages": MessagesFrames()}
