"""The whole chain through the real CLIs: generate -> tokenizer -> train -> eval -> chat."""

import json

import pytest
import torch
from integration_helpers import SMALL, cli, metrics, train_losses

from meow_rules import MISO


def test_generate_train_eval_chat_on_cpu(miso_data, tmp_path):
    tok = tmp_path / "tokenizer.json"
    cli("meow-train", "tokenizer", miso_data, "--vocab-size", "1024", "--out", tok)
    run = tmp_path / "run"
    cli("meow-train", "run", "--data", miso_data, "--out", run, "--tokenizer", tok, "--steps", "300",
        "--eval-every", "100", "--device", "cpu", *SMALL)  # fmt: skip
    losses = train_losses(run)
    assert losses[300] < 0.5 * losses[1]
    evals = [m for m in metrics(run) if m["event"] == "eval"]
    assert [e["step"] for e in evals] == [100, 200, 300]

    report_path = tmp_path / "eval.json"
    out = cli(
        "meow-train",
        "eval",
        run / "best",
        "--samples",
        "2",
        "--data",
        miso_data,
        "--json",
        report_path,
        "--device",
        "cpu",
    )
    assert b"overall pass rate" in out.stdout
    suites = json.loads(report_path.read_text())["suites"]
    # published figures come from the report suites only, never from the selection suite
    assert list(suites) == ["report", "unseen", "unknown_words"]
    assert 0 <= suites["unknown_words"]["fallback_rate"] <= 1
    report = suites["report"]
    assert report["replies"] == 2 * report["prompts"] == 2 * len(MISO.eval_prompts)
    assert sum(c["replies"] for c in report["categories"].values()) == report["replies"]
    weighted = (
        sum(c["pass_rate"] * c["replies"] for c in report["categories"].values())
        / report["replies"]
    )
    assert weighted == pytest.approx(report["pass_rate"])
    assert report["checks"]["lowercase"] > 0.9 and report["checks"]["no_banned"] > 0.9
    assert 0 <= report["copy_rate"] <= 1 and 0 <= report["closed_world_fluency"] <= 1

    chat = cli(
        "meow-chat",
        "--model",
        run / "best",
        "--json",
        "--seed",
        "0",
        input=b"hi miso\n\nare you hungry\nwrite me a python function\n",
    )
    rows = [json.loads(line) for line in chat.stdout.decode().splitlines()]
    assert [r["prompt"] for r in rows] == [
        "hi miso",
        "are you hungry",
        "write me a python function",
    ]
    for row in rows:
        assert row["reply"].strip() and row["reply"] == row["reply"].lower() and row["tokens"] > 0


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_chain_on_cuda_bf16(miso_data, tmp_path):
    run = tmp_path / "gpu"
    cli("meow-train", "run", "--data", miso_data, "--out", run, "--steps", "300", "--eval-every", "150",
        "--device", "cuda", "--precision", "bf16", *SMALL)  # fmt: skip
    meta = json.loads((run / "best" / "meta.json").read_text())
    assert meta["precision"] == "bfloat16" and meta["device"].startswith("cuda")
    losses = train_losses(run)
    assert losses[300] < 0.5 * losses[1]
    chat = cli("meow-chat", "--model", run / "best", "--device", "cuda", "hi miso")
    assert chat.stdout.strip()


def test_bundled_miso_answers_in_character():
    from meow_rules import check

    reply = cli("meow-chat", "--seed", "0", "hi miso").stdout.decode().strip()
    verdict = check(reply, "greeting")
    assert verdict.ok, f"{reply!r}: {verdict.reason}"
