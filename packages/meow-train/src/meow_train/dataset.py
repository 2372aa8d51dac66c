"""Read a meow-data dataset directory (format version 1) and encode it for training.

meow-train does not import meow-data: the directory format is the contract. Loading refuses a
dataset made for an incompatible meow-rules major version, or with a malformed line (naming the
file and line), before any training starts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import meow_rules
from meow_model import ChatTokenizer
from meow_model.pytorch import IGNORE_INDEX

SUPPORTED_FORMAT = 1
REQUIRED_FIELDS = ("input", "output", "category")


class DatasetError(ValueError):
    """A dataset directory is missing, malformed, or incompatible."""


@dataclass(frozen=True)
class Example:
    input: str
    output: str
    category: str


@dataclass(frozen=True)
class Dataset:
    """Both splits of a dataset directory and its manifest."""

    path: Path
    train: list[Example]
    val: list[Example]
    manifest: dict


def load_dataset(directory: str | Path, verify: bool = True) -> Dataset:
    """Load and check a dataset directory written by `meow-data generate`.

    With `verify` (the default) each split must have the sha256 its manifest records: a file
    edited after generation (a reply in capitals, a leaked eval prompt) is refused rather than
    trained on under the untouched manifest's hash.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetError(f"{directory}: dataset directory not found")
    manifest_path = directory / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(
            f"{manifest_path}: no manifest (make the dataset with `meow-data generate`)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{manifest_path}: not valid JSON: {exc}") from None
    check_manifest(manifest, manifest_path)
    if verify:
        for name in SPLIT_FILES:
            _verify_hash(directory / name, manifest, manifest_path)
    return Dataset(
        directory,
        read_split(directory / "train.jsonl"),
        read_split(directory / "val.jsonl"),
        manifest,
    )


def check_manifest(manifest: object, where: Path | str) -> None:
    """Refuse formats and meow-rules majors this meow-train does not understand."""
    if not isinstance(manifest, dict):
        raise DatasetError(f"{where}: manifest must be a JSON object")
    version = manifest.get("format_version")
    if version != SUPPORTED_FORMAT:
        raise DatasetError(
            f"{where}: dataset format_version {version!r} is not supported (expected {SUPPORTED_FORMAT})"
        )
    made_with = str(manifest.get("versions", {}).get("meow-rules", ""))
    ours = meow_rules.__version__
    if made_with.split(".")[0] != ours.split(".")[0]:
        raise DatasetError(
            f"{where}: dataset was made with meow-rules {made_with or '(unknown)'}, incompatible with the "
            f"installed meow-rules {ours} (major versions differ); regenerate it with a matching meow-data"
        )


SPLIT_FILES = ("train.jsonl", "val.jsonl")


def _verify_hash(path: Path, manifest: dict, manifest_path: Path) -> None:
    files = manifest.get("files")
    entry = files.get(path.name) if isinstance(files, dict) else None
    expected = entry.get("sha256") if isinstance(entry, dict) else None
    if not isinstance(expected, str):
        raise DatasetError(f"{manifest_path}: no sha256 recorded for {path.name}")
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        raise DatasetError(f"{path}: split file not found") from None
    if digest != expected:
        raise DatasetError(
            f"{path}: sha256 does not match {manifest_path.name} (the file changed after it was "
            "generated); regenerate it, check it with `meow-data validate`, or pass --no-verify "
            "to train on it anyway (recorded in the model's meta.json)"
        )


def read_split(path: Path) -> list[Example]:
    """Read one JSONL split; any malformed line is a DatasetError naming file and line."""
    if not path.is_file():
        raise DatasetError(f"{path}: split file not found")
    examples = []
    with path.open(encoding="utf-8", errors="strict") as fh:
        try:
            for number, line in enumerate(fh, start=1):
                examples.append(_parse(line, path, number))
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{path}: not valid UTF-8 ({exc})") from None
    if not examples:
        raise DatasetError(f"{path}: split is empty")
    return examples


def _parse(line: str, path: Path, number: int) -> Example:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
    if not isinstance(row, dict):
        raise DatasetError(f"{path}:{number}: row must be a JSON object")
    for name in REQUIRED_FIELDS:
        if not isinstance(row.get(name), str) or not row[name]:
            raise DatasetError(
                f"{path}:{number}: field {name!r} is missing or not a non-empty string"
            )
    return Example(row["input"], row["output"], row["category"])


@dataclass(frozen=True)
class Encoded:
    """Token ids of every example and, per example, where its reply starts."""

    ids: list[list[int]]
    reply_starts: list[int]
    dropped: int = 0
    """Examples left out because their prompt fills the whole context (no reply token to learn)."""
    topics: list[int] | None = None
    """Per example, its category's index in the `topics` given to `encode` (-100: not listed)."""

    def __len__(self) -> int:
        return len(self.ids)

    def lengths(self) -> list[int]:
        return [len(x) - 1 for x in self.ids]  # inputs are ids[:-1]


def encode(
    examples: list[Example],
    tokenizer: ChatTokenizer,
    max_len: int,
    topics: list[str] | None = None,
) -> Encoded:
    """Encode chat turns; turns longer than `max_len + 1` tokens are cut at the end.

    A turn whose prompt leaves no reply token inside the context teaches nothing (every target
    would be masked), so it is dropped and counted in `Encoded.dropped`. With `topics` (category
    names), each kept turn also gets its category's index there, for the topic head.
    """
    encodings = tokenizer.encode_batch_chat([(e.input, e.output) for e in examples])
    kept = [i for i, e in enumerate(encodings) if e.reply_start <= max_len]
    index = {name: i for i, name in enumerate(topics or [])}
    return Encoded(
        [encodings[i].ids[: max_len + 1] for i in kept],
        [encodings[i].reply_start for i in kept],
        dropped=len(encodings) - len(kept),
        topics=[index.get(examples[i].category, IGNORE_INDEX) for i in kept] if topics else None,
    )


def targets_for(ids: list[int], reply_start: int) -> list[int]:
    """Next-token targets for `ids[:-1]`, with everything before the reply masked out."""
    targets = ids[1:]
    masked = max(
        0, reply_start - 1
    )  # target at position i is ids[i + 1]; reply tokens start at reply_start
    return [IGNORE_INDEX] * masked + targets[masked:]
