"""Fixtures for meow-chat: the installed console script and a tiny throwaway model directory."""

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from meow_model import SPECIAL_TOKENS, ChatTokenizer, ModelConfig, expected_shapes, save_arrays


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
    config = ModelConfig(
        vocab_size=tokenizer.vocab_size,
        d_model=32,
        n_layers=1,
        n_heads=2,
        ffn_dim=32,
        max_seq_len=64,
    )
    rng = np.random.default_rng(0)  # random weights: no PyTorch needed to make a model directory
    weights = {
        name: (np.ones(shape) if len(shape) == 1 else rng.normal(0, 0.02, shape)).astype(np.float32)
        for name, shape in expected_shapes(config).items()
    }
    return save_arrays(tmp_path_factory.mktemp("m") / "tiny", config, weights, tokenizer)
