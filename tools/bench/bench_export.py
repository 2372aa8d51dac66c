"""Bench `export`: the bundled Miso exported to Hugging Face and GGUF, and how faithfully they run.

Export time (best of 3) is set against copying the model directory (the least any export can
cost). Fidelity: the largest |logit difference| from meow-model's NumPy runtime over every
position of every held-out report prompt, in transformers and in llama.cpp (llama-cpp-python),
and how many greedy replies are identical (llama.cpp with a float32 KV cache: its float16
default alone moves logits by about 1e-2). Needs transformers, torch, gguf and llama-cpp-python
(the `interop` tox environment has them all); a missing library skips its part.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
from common import best_of, report

from meow_chat import bundled_model_dir
from meow_model import SamplingConfig, export_gguf, export_hf, generate, load_pretrained
from meow_rules import MISO


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*")) if path.is_dir() else path.stat().st_size


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench export")
    parser.add_argument("--prompts", type=int, default=0, help="report prompts to use (0: all)")
    args = parser.parse_args(argv)
    source = bundled_model_dir()
    miso = load_pretrained(source)
    prompts = [p.prompt for p in MISO.eval_prompts][: args.prompts or None]
    greedy = SamplingConfig(temperature=0)
    ours = {p: generate(miso.model, miso.tokenizer, p, greedy).text for p in prompts}
    rows, results = [], {"prompts": len(prompts)}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        copy_s, _ = best_of(lambda: shutil.copytree(source, out / "copy", dirs_exist_ok=True))
        jobs = [  # (name, exporter, output, dtype)
            ("hf float32", export_hf, out / "hf", "float32"),
            ("hf float16", export_hf, out / "hf16", "float16"),
            ("gguf float32", export_gguf, out / "m.gguf", "float32"),
            ("gguf float16", export_gguf, out / "m16.gguf", "float16"),
        ]
        for name, exporter, path, dtype in jobs:
            seconds, _ = best_of(
                lambda e=exporter, p=path, d=dtype: e(source, p, dtype=d, force=True)
            )
            size = _size(path)
            results[name] = {"seconds": seconds, "bytes": size, "vs_copy": seconds / copy_s}
            rows.append(
                (
                    f"export {name}",
                    f"{seconds * 1e3:.0f} ms ({seconds / copy_s:.1f}x a copy), {size / 1e6:.2f} MB",
                )
            )
        rows += _transformers(out / "hf", miso, prompts, ours, results)
        rows += _llama_cpp(out / "m.gguf", miso, prompts, ours, results)
    report("export", rows, results)
    return 0


def _agreement(
    library: str, miso, prompts, ours, results, logits_of, greedy_of
) -> list[tuple[str, str]]:
    """Largest |logit difference| from meow-model over every position, and identical greedy replies."""
    worst, same = 0.0, 0
    for prompt in prompts:
        ids = miso.tokenizer.encode_chat(prompt).ids
        ours_logits = miso.model.forward(np.array([ids]))[0]
        worst = max(worst, float(np.abs(logits_of(ids) - ours_logits).max()))
        same += greedy_of(ids).strip() == ours[prompt]
    results[library] = {"max_abs_logit_diff": worst, "greedy_identical": same}
    return [(library, f"max |logit diff| {worst:.1e}, greedy identical {same}/{len(prompts)}")]


def _transformers(path, miso, prompts, ours, results) -> list[tuple[str, str]]:
    try:
        import torch
        import transformers
    except ImportError:
        return [("transformers", "skipped (not installed)")]
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModelForCausalLM.from_pretrained(path).eval()

    @torch.no_grad()
    def logits_of(ids: list[int]) -> np.ndarray:
        return model(torch.tensor([ids])).logits[0].numpy()

    @torch.no_grad()
    def greedy_of(ids: list[int]) -> str:
        batch = torch.tensor([ids])
        out = model.generate(batch, do_sample=False, max_new_tokens=64,
                             attention_mask=torch.ones_like(batch))  # fmt: skip
        return tokenizer.decode(out[0, len(ids) :], skip_special_tokens=True)

    name = f"transformers {transformers.__version__}"
    return _agreement(name, miso, prompts, ours, results, logits_of, greedy_of)


def _llama_cpp(path, miso, prompts, ours, results) -> list[tuple[str, str]]:
    try:
        import llama_cpp
    except ImportError:
        return [("llama.cpp", "skipped (llama-cpp-python not installed)")]
    llm = llama_cpp.Llama(
        model_path=str(path),
        n_ctx=256,
        n_batch=256,
        logits_all=True,
        n_threads=2,
        type_k=llama_cpp.GGML_TYPE_F32,
        type_v=llama_cpp.GGML_TYPE_F32,
        verbose=False,
    )

    def logits_of(ids: list[int]) -> np.ndarray:
        llm.reset()
        llm.eval(ids)
        return np.asarray(llm.scores[: len(ids)])

    def greedy_of(ids: list[int]) -> str:
        out = llm.create_completion(prompt=ids, max_tokens=64, temperature=0.0, top_k=1,
                                    repeat_penalty=1.0)  # fmt: skip
        return out["choices"][0]["text"]

    name = f"llama-cpp-python {llama_cpp.__version__}"
    return _agreement(name, miso, prompts, ours, results, logits_of, greedy_of)
