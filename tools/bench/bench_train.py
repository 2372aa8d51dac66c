"""Bench `train`: supervised tokens per second, the seed's pad-to-256 loop vs meow-train's.

Same model, same data, same batch size, same optimizer; only batching and precision differ:
  seed        every sample padded to the 256-token context, logits for every position, fp32
  bucketed    length-bucketed batches, output head on reply tokens only, fp32
  bucketed+bf16  as above under bf16 autocast (native on AVX-512-BF16 / AMX CPUs and GPUs)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F
from common import report

from meow_data import GenerateConfig, generate, write_dataset
from meow_model import ModelConfig
from meow_model.pytorch import IGNORE_INDEX, MeowForCausalLM, pick_device
from meow_train import fit_tokenizer, load_dataset

# the benchmark times the batching internals themselves, so it reaches past the public API
from meow_train.batches import collate, epoch_batches
from meow_train.dataset import encode


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench train")
    parser.add_argument("--data", type=Path, help="dataset dir (default: generate 20,000 samples)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per bucketed mode")
    parser.add_argument(
        "--seed-steps", type=int, default=4, help="timed steps of the slow seed loop"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--compile", action="store_true", help="also time torch.compile (bucketed + bf16)"
    )
    args = parser.parse_args(argv)
    device = pick_device(args.device)

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data
        if data_dir is None:
            config = GenerateConfig(n=20_000, seed=0)
            data_dir = Path(tmp) / "data"
            write_dataset(generate(config), config, data_dir)
        dataset = load_dataset(data_dir)
    tokenizer = fit_tokenizer(dataset.train, 2048)
    data = encode(dataset.train, tokenizer, 256)
    batches = epoch_batches(data.lengths(), args.batch_size, 0, 0)
    bf16 = torch.bfloat16

    def run(
        mode: str, steps: int, dtype: torch.dtype | None, compile_model: bool = False
    ) -> tuple[float, float]:
        torch.manual_seed(0)
        model = MeowForCausalLM(ModelConfig(vocab_size=tokenizer.vocab_size)).to(device).train()
        net = torch.compile(model) if compile_model else model
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95))
        warm, tokens, seconds = 3, 0, 0.0
        for i in range(warm + steps):
            inputs, targets = collate(data, batches[i % len(batches)])
            if mode == "seed":
                pad = 256 - inputs.shape[1]
                inputs = F.pad(inputs, (0, pad))
                targets = F.pad(targets, (0, pad), value=IGNORE_INDEX)
            inputs, targets = inputs.to(device), targets.to(device)
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            with torch.autocast(device.type, dtype=dtype) if dtype else nullcontext():
                if mode == "seed":
                    logits, _ = net(inputs)
                    loss = F.cross_entropy(
                        logits.float().view(-1, logits.shape[-1]),
                        targets.view(-1),
                        ignore_index=IGNORE_INDEX,
                    )
                else:
                    _, loss = net(inputs, targets)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            if i >= warm:
                seconds += time.perf_counter() - start
                tokens += int((targets != IGNORE_INDEX).sum())
        return tokens / seconds, seconds / steps

    results: dict = {
        "device": str(device),
        "batch_size": args.batch_size,
        "threads": torch.get_num_threads(),
    }
    seed_tps, seed_step = run("seed", args.seed_steps, None)
    rows = [
        ("seed: pad to 256, fp32", f"{seed_tps:8,.0f} supervised tok/s  ({seed_step:.2f} s/step)")
    ]
    modes = [("bucketed, fp32", None, False), ("bucketed, bf16 autocast", bf16, False)]
    if args.compile:
        modes.append(("bucketed, bf16, torch.compile", bf16, True))
    for name, dtype, comp in modes:
        start = time.perf_counter()
        tps, step = run("bucketed", args.steps, dtype, comp)
        rows.append(
            (name, f"{tps:8,.0f} supervised tok/s  ({step:.3f} s/step)  {tps / seed_tps:5.1f}x")
        )
        results[name] = {
            "supervised_tokens_per_s": tps,
            "s_per_step": step,
            "speedup": tps / seed_tps,
            "wall_s": time.perf_counter() - start,
        }
    results["seed"] = {"supervised_tokens_per_s": seed_tps, "s_per_step": seed_step}
    print(
        f"bench train: batch {args.batch_size} on {device}, {torch.get_num_threads()} threads (target: >= 20x the seed loop)"
    )
    report("train", rows, results)
    return 0
