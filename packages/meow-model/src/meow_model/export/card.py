"""The model card an export carries: the model directory's MODEL_CARD.md, or one written from meta.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from meow_model.config import ModelConfig

CARD_FILE = "MODEL_CARD.md"
CURVES_FILE = "training.png"  # a model card may show the run's curves; an export copies them

FRONT_MATTER = """---
library_name: transformers
license: mit
pipeline_tag: text-generation
tags:
- meowllm
- llama
- character
- tiny
---
"""

USAGE = """
## Loading this export

```python
from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("{path}")
model = AutoModelForCausalLM.from_pretrained("{path}")
ids = tokenizer.apply_chat_template(
    [{{"role": "user", "content": "hi miso"}}], add_generation_prompt=True, return_tensors="pt"
)
out = model.generate(ids, max_new_tokens=64)  # sampling defaults: generation_config.json
print(tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True))
```

The model is single-turn: the chat template answers the conversation's last user message.
"""


def model_card(model_dir: Path, config: ModelConfig, meta: dict[str, Any], path: str) -> str:
    """README.md for a Hugging Face export: front matter, the model's own card, how to load it."""
    own = model_dir / CARD_FILE
    if own.is_file():
        body = own.read_text(encoding="utf-8")
        if body.startswith("---\n"):  # the card has its own Hub front matter: keep it alone
            return body.rstrip() + "\n" + USAGE.format(path=path)
    else:
        dataset = meta.get("dataset", {}) if isinstance(meta.get("dataset"), dict) else {}
        body = (
            f"# {model_dir.resolve().name}\n\nA MeowLLM character model: a {config.n_layers}-layer Llama-"
            f"layout decoder (d_model {config.d_model}, {config.n_heads} heads, vocabulary "
            f"{config.vocab_size}, context {config.max_seq_len}) trained from scratch"
            + (f" on the dataset `{dataset['name']}`" if "name" in dataset else "")
            + ".\n"
        )
    return FRONT_MATTER + "\n" + body.rstrip() + "\n" + USAGE.format(path=path)
