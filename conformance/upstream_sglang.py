"""Suite factory for strands-sglang's `SGLangModel` (SGLang's native `/generate`, token ids in and out).

    pytest conformance --conformance-provider conformance.upstream_sglang:sglang --conformance-wire sglang-generate

strands-sglang 0.6.2 needs Python 3.12 and transformers 5, so it runs in a venv of its own
(`scripts/certify-upstream.sh` makes it). Its `SGLangClient` talks aiohttp, which the in-process
respx replay cannot see, so the factory declares `conformance_transport = "sockets"`: the harness
serves each cassette from its loopback server on 127.0.0.1, whose URL is the client's base_url.

SGLangModel tokenizes the prompt itself with a Hugging Face tokenizer and sends ids. The factory gives
it the suite's byte vocabulary (id = byte value, plus `<|im_start|>` and `<|im_end|>` as ids 256 and
257) with a ChatML chat template that renders tools, calls and results the Hermes way (Qwen2.5's
layout, which its default Hermes tool parser reads), so the wire's request reader reads the prompt back
and no model files are needed. Three adaptations, each what a user could do the same way: the client
retries nothing (`max_retries=0`: a replayed cassette holds one answer); its two probes, `GET
/model_info` (multimodal?) and `GET /v1/models` (context length), which no cassette holds, are answered
as a text-only server that reports no context length; and the suite's `params=...` become
`sampling_params` (max_tokens as SGLang's max_new_tokens).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from strands.models import Model

from conformance.wires._reference import TimeoutOptions
from conformance.wires.sglang_generate import CHATML_MARKERS

__all__ = ["CHAT_TEMPLATE", "byte_tokenizer", "sglang"]

CHAT_TEMPLATE = """\
{%- if messages and messages[0].role == 'system' %}{% set system = messages[0].content %}{% else %}\
{% set system = '' %}{% endif %}
{%- if tools %}<|im_start|>system
{% if system %}{{ system }}

{% endif %}# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{% for tool in tools %}{{ tool | tojson }}
{% endfor %}</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call><|im_end|>
{% elif system %}<|im_start|>system
{{ system }}<|im_end|>
{% endif %}
{%- for message in messages if message.role != 'system' %}
{%- if message.role == 'tool' %}
{%- if loop.first or loop.previtem.role != 'tool' %}<|im_start|>user{% endif %}
<tool_response>
{{ message.content }}
</tool_response>
{%- if loop.last or loop.nextitem.role != 'tool' %}<|im_end|>
{% endif %}
{%- else %}<|im_start|>{{ message.role }}
{{ message.content }}<|im_end|>
{% endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}"""


@cache
def byte_tokenizer() -> Any:
    """A transformers tokenizer whose ids are the prompt's bytes (and the two ChatML markers)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    # ByteLevel shows each byte as one printable character (GPT-2's table): the vocabulary is that table.
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    shown = {value: value for value in printable}
    shown.update({value: 256 + extra for extra, value in enumerate(v for v in range(256) if v not in shown)})
    characters = {chr(shown[value]): value for value in range(256)}
    tokenizer = Tokenizer(models.BPE(vocab=characters, merges=[]))
    tokenizer.pre_tokenizer, tokenizer.decoder = byte_level, decoders.ByteLevel()
    tokenizer.add_special_tokens(list(CHATML_MARKERS))
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=CHATML_MARKERS[1])
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def _sampling(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The suite's case parameters as SGLang sampling_params."""
    shaped = dict(params or {})
    if "max_tokens" in shaped:
        shaped["max_new_tokens"] = shaped.pop("max_tokens")
    return shaped


def sglang(*, base_url: str, model_id: str, api_key: str = "EMPTY", timeout: float | None = None,
           **config: Any) -> Model:
    """strands-sglang's SGLangModel against `base_url` (the SGLang server root)."""
    from strands_sglang import SGLangClient, SGLangModel

    unknown = sorted(set(config) - {"params"})
    if unknown:
        raise TypeError(f"conformance.upstream_sglang:sglang takes only params=... besides the connection; got {unknown}")

    class ProbedClient(SGLangClient):
        async def is_multimodal(self) -> bool:
            return False

        async def max_model_len(self) -> int | None:
            return None

    def update_config(self: Model, **model_config: Any) -> None:
        if "params" in model_config:
            model_config["sampling_params"] = _sampling(model_config.pop("params"))
        SGLangModel.update_config(self, **model_config)

    model_class = type(SGLangModel.__name__, (SGLangModel,), {"update_config": update_config})
    client = ProbedClient(base_url, max_retries=0, timeout=timeout if timeout is not None else 900.0)
    return model_class(client=client, tokenizer=byte_tokenizer(), sampling_params=_sampling(config.get("params")))


sglang.conformance_transport = "sockets"  # type: ignore[attr-defined]
sglang.conformance_timeouts = TimeoutOptions(  # type: ignore[attr-defined]
    "SGLangClient timeout (the whole request; strands-sglang has no separate read or progress deadline)",
    lambda seconds: {"timeout": seconds})
