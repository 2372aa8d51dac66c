"""Bench `model`: KV-cache decoding vs full recompute, batched generation, cold start.

Uses a trained model directory when given (`--model DIR`), otherwise a randomly initialised
default-size model with a tokenizer fitted on a small generated dataset: decoding cost does not
depend on the weights, and the random model never stops early, so every reply is full length.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from common import best_of, report

from meow_model import ChatTokenizer, ModelConfig, SamplingConfig, generate_batch, prompt_ids
from meow_model.pytorch import MeowForCausalLM, load_pretrained, save_pretrained
from meow_rules import MISO


def fitted_tokenizer(vocab_size: int = 2048) -> ChatTokenizer:
    from meow_data import GenerateConfig, generate
    from meow_train import Example, fit_tokenizer

    samples = generate(GenerateConfig(n=5000, seed=0)).train
    return fit_tokenizer([Example(s.input, s.output, s.category) for s in samples], vocab_size)


def recompute_loop(model: MeowForCausalLM, ids: list[int], n: int) -> list[int]:
    """The seed's decoding: the whole context through the model for every new token."""
    x = torch.tensor([ids])
    out = []
    for _ in range(n):
        logits, _ = model(x)
        token = logits[:, -1].argmax(-1, keepdim=True)
        out.append(int(token))
        x = torch.cat([x, token], dim=1)
    return out


def cached_loop(model: MeowForCausalLM, ids: list[int], n: int, decode=None) -> list[int]:
    decode = decode or model.decode
    cache = model.new_cache(1, len(ids) + n)
    logits = decode(torch.tensor([ids]), cache)
    out = []
    for step in range(n):
        token = logits.argmax(-1, keepdim=True)
        out.append(int(token))
        if step + 1 < n:
            logits = decode(token, cache)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench model")
    parser.add_argument(
        "--model", type=Path, help="a trained model directory (default: random weights)"
    )
    parser.add_argument(
        "--tokens", type=int, default=40, help="reply length for the decode comparison"
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--compile", action="store_true", help="also time a torch.compile'd decode step"
    )
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    with tempfile.TemporaryDirectory() as tmp:
        if args.model:
            loaded = load_pretrained(args.model)
            model, tokenizer, model_dir = loaded.model, loaded.tokenizer, args.model
        else:
            tokenizer = fitted_tokenizer()
            model = MeowForCausalLM(ModelConfig(vocab_size=tokenizer.vocab_size)).eval()
            model_dir = save_pretrained(model, tokenizer, Path(tmp) / "model")
        n = args.tokens
        ids = prompt_ids(tokenizer, "hi miso, are you hungry", model.config.max_seq_len, n)
        rows = [
            (
                "model",
                f"{model.num_parameters() / 1e6:.2f}M parameters, vocab {model.config.vocab_size}, threads {torch.get_num_threads()}",
            )
        ]
        results: dict = {"parameters": model.num_parameters(), "reply_tokens": n}

        with torch.inference_mode():
            same = recompute_loop(model, ids, n) == cached_loop(model, ids, n)
            # interleave the two methods so machine noise hits both alike; keep the best of each
            naive_t, cached_t = [], []
            for _ in range(args.repeat):
                naive_t.append(best_of(lambda: recompute_loop(model, ids, n), 1)[0])
                cached_t.append(best_of(lambda: cached_loop(model, ids, n), 1)[0])
        naive_ms, cached_ms = min(naive_t) / n * 1e3, min(cached_t) / n * 1e3
        rows += [
            ("recompute full context (seed)", f"{naive_ms:.2f} ms/token"),
            ("KV cache", f"{cached_ms:.2f} ms/token"),
            (
                "KV cache speed-up",
                f"{naive_ms / cached_ms:.2f}x  (target >= 3x)   identical greedy tokens: {same}",
            ),
        ]
        results.update(
            recompute_ms_per_token=naive_ms,
            kv_ms_per_token=cached_ms,
            kv_speedup=naive_ms / cached_ms,
            identical=same,
        )

        if args.compile:
            start = time.perf_counter()
            compiled = torch.compile(model.decode, dynamic=True)
            with torch.inference_mode():
                first = cached_loop(model, ids, n, compiled)
                warm = time.perf_counter() - start
                comp_t = [
                    best_of(lambda: cached_loop(model, ids, n, compiled), 1)[0]
                    for _ in range(args.repeat)
                ]
            comp_ms = min(comp_t) / n * 1e3
            rows += [
                (
                    "compiled KV decode",
                    f"{comp_ms:.2f} ms/token ({naive_ms / comp_ms:.2f}x), start-up {warm:.1f} s, same tokens: {first == recompute_loop(model, ids, n)}",
                )
            ]
            results.update(compiled_ms_per_token=comp_ms, compile_startup_s=warm)

        prompts = [p.prompt for p in MISO.eval_prompts[:150]] * 4
        cfg = SamplingConfig(temperature=0.7, seed=0, max_new_tokens=n)
        batch_s, _ = best_of(lambda: generate_batch(model, tokenizer, prompts, cfg), 2)
        rows += [
            (
                "batched generation",
                f"{len(prompts)} replies of up to {n} tokens in {batch_s:.2f} s  (target < 10 s)",
            )
        ]
        results.update(batch_replies=len(prompts), batch_s=batch_s)

        code = "import torch"
        load = (
            f"from meow_model.pytorch import load_pretrained; load_pretrained({str(model_dir)!r})"
        )
        base = [_run(code) for _ in range(5)]
        full = [_run(load) for _ in range(5)]
        rows += [
            (
                "cold start",
                f"import torch {min(base):.2f} s; + load model dir {min(full) - min(base):.3f} s  (target < 0.3 s)",
            )
        ]
        results.update(import_torch_s=min(base), load_model_extra_s=min(full) - min(base))
    print("bench model")
    report("model", rows, results)
    return 0


def _run(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True)
    return time.perf_counter() - start
