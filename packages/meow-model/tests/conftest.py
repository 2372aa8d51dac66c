"""Fixtures: a small byte-level BPE tokenizer and a tiny random model (no training needed).

PyTorch is imported only by the `model` fixture, so the torch-free test environment (tox -e
model-core) can run the core's tests with this same conftest.
"""

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from meow_model import CHAT_FORMAT, SPECIAL_TOKENS, ChatTokenizer, ModelConfig

CORPUS = [
    "hello. i was in the sun spot. you may continue.",
    "the bowl is almost empty. this is an emergency.",
    "i do not know this python. is it a snake.",
    "acceptable. you may pet my head. not the belly.",
    "are you hungry", "hi miso", "write me a python function", "do you like boxes",
] * 20  # fmt: skip


def build_tokenizer(vocab_size: int = 320) -> Tokenizer:
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tk.train_from_iterator(CORPUS, trainer)
    return tk


@pytest.fixture(scope="session")
def tokenizer() -> ChatTokenizer:
    """A tokenizer in the chat format new models are trained in."""
    return ChatTokenizer(build_tokenizer(), chat_format=CHAT_FORMAT)


@pytest.fixture(scope="session")
def config(tokenizer) -> ModelConfig:
    return ModelConfig(
        vocab_size=tokenizer.vocab_size,
        d_model=64,
        n_layers=2,
        n_heads=4,
        ffn_dim=160,
        max_seq_len=64,
    )


@pytest.fixture
def model(config):
    torch = pytest.importorskip("torch")
    from meow_model.pytorch import MeowForCausalLM

    torch.manual_seed(0)
    return MeowForCausalLM(config).eval()
