"""Convert a GGUF checkpoint to a safetensors folder that vLLM 0.32 can load (it cannot read GGUF).

Run with the vLLM venv's interpreter (it has transformers, gguf, accelerate), not the project's:
    python _convert_gguf.py MODEL.gguf OUT_DIR
Stand-alone on purpose: it imports nothing from this project.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(gguf_path: Path, out_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.bfloat16)
    # The weights are dequantized on load; keeping the GGUF quantizer would make save_pretrained
    # write a quantization_config that vLLM then tries (and fails) to honour.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    print(f"converted {gguf_path} -> {out_dir}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python _convert_gguf.py MODEL.gguf OUT_DIR")
    main(Path(sys.argv[1]), Path(sys.argv[2]))
