"""Device selection."""

import pytest
import torch

from meow_model.pytorch import pick_device


def test_auto_picks_an_available_device():
    device = pick_device("auto")
    assert device.type in {"cuda", "mps", "cpu"}
    assert pick_device(None) == device
    if not torch.cuda.is_available():
        assert device.type in {"mps", "cpu"}


def test_explicit_cpu():
    assert pick_device("cpu") == torch.device("cpu")


def test_unavailable_or_unknown_device_is_a_clear_error():
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        pick_device("tpu")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_generation_on_cuda(model, tokenizer):
    from meow_model import SamplingConfig, generate

    cpu = generate(model, tokenizer, "hi miso", SamplingConfig(temperature=0, max_new_tokens=8))
    gpu = generate(
        model.to("cuda"), tokenizer, "hi miso", SamplingConfig(temperature=0, max_new_tokens=8)
    )
    assert gpu.token_ids == cpu.token_ids
