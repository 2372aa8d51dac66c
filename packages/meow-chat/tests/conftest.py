"""Fixtures for meow-chat: the installed console script and a tiny throwaway model directory."""

import shutil
import sys
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from meow_model import SPECIAL_TOKENS, ChatTokenizer, MeowForCausalLM, ModelConfig, save_pretrained


@pytest.fixture(scope="session")
def meow_chat_exe() -> list[str]:
    """How to run the real CLI as a subprocess (the console script when installed)."""
    exe = shutil.which("meow-chat", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "meow_chat"]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=280, special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)  # fmt: skip
    tk.train_from_iterator(["hello miso, the bowl is empty"] * 10, trainer)
    tokenizer = ChatTokenizer(tk)
    torch.manual_seed(0)
    model = MeowForCausalLM(
        ModelConfig(
            vocab_size=tokenizer.vocab_size,
            d_model=32,
            n_layers=1,
            n_heads=2,
            ffn_dim=32,
            max_seq_len=64,
        )
    )
    return save_pretrained(model, tokenizer, tmp_path_factory.mktemp("m") / "tiny")
