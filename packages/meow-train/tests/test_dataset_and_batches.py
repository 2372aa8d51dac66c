"""Dataset loading and refusals; bucketed batching loses or repeats nothing and masks prompts."""

import json

import pytest
import torch

from meow_model import BOS_ID, MISO_ID, PAD_ID, SPECIAL_TOKENS, USER_ID
from meow_model.pytorch import IGNORE_INDEX
from meow_train import DatasetError, fit_tokenizer, load_dataset
from meow_train.batches import collate, epoch_batches, noisy_prompts, prompt_targets, shard
from meow_train.dataset import encode, targets_for


def test_load_dataset(dataset):
    ds = load_dataset(dataset)
    assert len(ds.train) > len(ds.val) > 0
    assert ds.manifest["format_version"] == 1


def test_missing_and_malformed_datasets(tmp_path, dataset):
    with pytest.raises(DatasetError, match="dataset directory not found"):
        load_dataset(tmp_path / "nope")
    (dataset / "manifest.json").unlink()
    with pytest.raises(DatasetError, match=r"manifest.json: no manifest"):
        load_dataset(dataset)


def test_incompatible_rules_major_is_refused(tmp_path, make_dataset):
    data = make_dataset(tmp_path / "d", rules_version="2.0.0")
    with pytest.raises(
        DatasetError,
        match="made with meow-rules 2.0.0, incompatible with the installed meow-rules 1",
    ):
        load_dataset(data)


def test_unsupported_format_is_refused(dataset):
    manifest = json.loads((dataset / "manifest.json").read_text())
    manifest["format_version"] = 7
    (dataset / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DatasetError, match="format_version 7 is not supported"):
        load_dataset(dataset)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{broken", "invalid JSON"),
        ('{"input": "hi", "category": "greeting"}', "field 'output' is missing"),
        ("[1, 2]", "row must be a JSON object"),
    ],
)
def test_malformed_line_names_file_and_line(dataset, line, message):
    path = dataset / "train.jsonl"
    lines = path.read_text().splitlines()
    lines.insert(2, line)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match="train.jsonl: sha256 does not match manifest.json"):
        load_dataset(dataset)  # an edited file is refused before it is parsed
    with pytest.raises(DatasetError, match=rf"train.jsonl:3: {message}"):
        load_dataset(dataset, verify=False)


def test_targets_mask_the_prompt():
    ids = [1, 3, 50, 51, 4, 60, 61, 2]  # <bos><user> p p <miso> r r <eos>
    targets = targets_for(ids, reply_start=5)
    assert targets == [IGNORE_INDEX] * 4 + [60, 61, 2]
    assert len(targets) == len(ids) - 1


@pytest.fixture
def encoded(dataset):
    ds = load_dataset(dataset)
    tokenizer = fit_tokenizer(ds.train, 300)
    return encode(ds.train, tokenizer, 64)


def test_epoch_visits_every_sample_exactly_once(encoded):
    lengths = encoded.lengths()
    for epoch in range(3):
        batches = epoch_batches(lengths, 16, seed=1, epoch=epoch)
        flat = [i for b in batches for i in b]
        assert sorted(flat) == list(range(len(lengths)))
        assert all(1 <= len(b) <= 16 for b in batches)
    assert epoch_batches(lengths, 16, 1, 0) == epoch_batches(lengths, 16, 1, 0)
    assert epoch_batches(lengths, 16, 1, 0) != epoch_batches(lengths, 16, 1, 1)


def test_bucketing_keeps_padding_small(encoded):
    lengths = encoded.lengths()
    batches = epoch_batches(lengths, 16, seed=0, epoch=0, window=8)
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    assert padded / sum(lengths) < 1.15


def test_shards_partition_the_global_batch():
    batch = list(range(11))
    parts = [shard(batch, r, 3) for r in range(3)]
    assert sorted(i for p in parts for i in p) == batch


def test_collate_pads_and_masks(encoded):
    inputs, targets = collate(encoded, [0, 1, 2])
    assert inputs.shape == targets.shape
    for row, i in enumerate([0, 1, 2]):
        ids, start = encoded.ids[i], encoded.reply_starts[i]
        n = len(ids) - 1
        assert inputs[row, :n].tolist() == ids[:-1]
        assert (targets[row, : start - 1] == IGNORE_INDEX).all()
        assert inputs[row, start - 1] == MISO_ID and targets[row, start - 1] == ids[start]
        assert (targets[row, n:] == IGNORE_INDEX).all()


def _noisy(encoded, rate, seed=0):
    rows = list(range(len(encoded)))
    inputs, _ = collate(encoded, rows)
    starts = [encoded.reply_starts[i] for i in rows]
    out = noisy_prompts(inputs, starts, rate, 300, torch.Generator().manual_seed(seed))
    return inputs, out, starts


def test_prompt_noise_touches_only_the_prompt_text(encoded):
    inputs, out, starts = _noisy(encoded, 0.5)
    prompt_tokens = changed = 0
    for row, start in enumerate(starts):
        n = len(encoded.ids[row]) - 1
        assert out[row, :2].tolist() == [BOS_ID, USER_ID]
        assert out[row, start - 1] == MISO_ID
        assert out[row, start - 1 :].tolist() == inputs[row, start - 1 :].tolist()  # reply, padding
        assert (out[row, n:] == PAD_ID).all()
        swapped = out[row, 2 : start - 1] != inputs[row, 2 : start - 1]
        assert (out[row, 2 : start - 1][swapped] >= len(SPECIAL_TOKENS)).all()  # never a marker
        prompt_tokens += start - 3
        changed += int(swapped.sum())
    assert (
        0.4 < changed / prompt_tokens < 0.6
    )  # (a draw can repeat the same id: a little under 0.5)


def test_prompt_noise_is_off_at_zero_and_repeatable_from_its_generator(encoded):
    inputs, off, _ = _noisy(encoded, 0.0)
    assert torch.equal(inputs, off)
    _, first, _ = _noisy(encoded, 0.1, seed=3)
    _, again, _ = _noisy(encoded, 0.1, seed=3)
    _, other, _ = _noisy(encoded, 0.1, seed=4)
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert not torch.equal(first, inputs)


def test_prompt_targets_are_the_prompt_text_and_nothing_else(encoded):
    rows = list(range(len(encoded)))
    inputs, targets = collate(encoded, rows)
    starts = [encoded.reply_starts[i] for i in rows]
    prompt = prompt_targets(inputs, starts)
    assert prompt.shape == inputs.shape
    for row, start in enumerate(starts):
        ids = encoded.ids[row]
        # positions 1 .. start-3 predict the text tokens ids[2 .. start-2]; nothing else is a target
        assert prompt[row, 1 : start - 2].tolist() == ids[2 : start - 1]
        assert (prompt[row, :1] == IGNORE_INDEX).all()
        assert (prompt[row, start - 2 :] == IGNORE_INDEX).all()
        assert not set(ids[2 : start - 1]) & {BOS_ID, USER_ID, MISO_ID, PAD_ID}
        # the reply's targets and the prompt's never overlap
        assert not ((prompt[row] != IGNORE_INDEX) & (targets[row] != IGNORE_INDEX)).any()
