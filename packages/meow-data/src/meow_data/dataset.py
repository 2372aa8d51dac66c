"""The dataset directory format: `train.jsonl`, `val.jsonl` and `manifest.json`.

Files are written byte-for-byte deterministically (sorted keys, no timestamps) into a temporary
directory and moved into place only when complete, so an interrupted run never leaves a
half-written dataset, and an existing dataset is never replaced without `force=True`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import meow_rules
from meow_data.__about__ import __version__
from meow_data.generate import GenerateConfig, Generated, Sample

FORMAT_VERSION = 1
SPLITS = ("train", "val")
MANIFEST = "manifest.json"
DATASET_FILES = ("train.jsonl", "val.jsonl", MANIFEST)


class DatasetExistsError(FileExistsError):
    """The output directory already holds a dataset and overwriting was not requested."""


def write_dataset(
    generated: Generated, config: GenerateConfig, out: str | Path, force: bool = False
) -> dict:
    """Write both splits and the manifest to `out`; return the manifest."""
    out = Path(out)
    existing = [name for name in DATASET_FILES if (out / name).exists()]
    if existing and not force:
        raise DatasetExistsError(
            f"{out} already holds a dataset ({', '.join(existing)}); pass --force to overwrite it"
        )
    out.mkdir(parents=True, exist_ok=True)
    splits = {"train": generated.train, "val": generated.val}
    with tempfile.TemporaryDirectory(dir=out, prefix=".meow-data-") as tmp:
        staged = Path(tmp)
        files = {}
        for split, samples in splits.items():
            payload = "".join(json.dumps(s.to_json(), ensure_ascii=False) + "\n" for s in samples)
            data = payload.encode("utf-8")
            (staged / f"{split}.jsonl").write_bytes(data)
            files[f"{split}.jsonl"] = {
                "sha256": hashlib.sha256(data).hexdigest(),
                "lines": len(samples),
            }
        manifest = build_manifest(generated, config, files)
        (staged / MANIFEST).write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        # The manifest is the commit point: the old one goes first and the new one last, so a
        # process killed in between leaves a directory with no manifest (refused by every
        # reader) rather than new splits under an old manifest or the other way round.
        (out / MANIFEST).unlink(missing_ok=True)
        for name in DATASET_FILES:
            if name != MANIFEST:
                os.replace(staged / name, out / name)
        os.replace(staged / MANIFEST, out / MANIFEST)
    return manifest


def build_manifest(generated: Generated, config: GenerateConfig, files: dict[str, Any]) -> dict:
    """The manifest: provenance, counts, rejections, diversity and file hashes."""
    everything = generated.train + generated.val
    per_category: dict[str, dict[str, int]] = {}
    for split, samples in (("train", generated.train), ("val", generated.val)):
        for category, count in sorted(Counter(s.category for s in samples).items()):
            per_category.setdefault(category, {"train": 0, "val": 0})[split] = count
    return {
        "format_version": FORMAT_VERSION,
        "persona": config.persona.name,
        "versions": {"meow-data": __version__, "meow-rules": meow_rules.__version__},
        "seed": config.seed,
        "requested": config.n,
        "val_fraction": config.val_fraction,
        "banks": "bundled" if config.banks_dir is None else Path(config.banks_dir).name,
        "counts": {
            "train": len(generated.train),
            "val": len(generated.val),
            "total": len(everything),
        },
        "categories": per_category,
        "attempts": generated.attempts,
        "rejections": dict(sorted(generated.rejections.items())),
        "unique": {
            "inputs": len({s.input for s in everything}),
            "normalized_inputs": len({meow_rules.normalize_prompt(s.input) for s in everything}),
            "outputs": len({s.output for s in everything}),
        },
        "files": files,
    }


def read_manifest(directory: str | Path) -> dict:
    """Read `manifest.json` of a dataset directory, with a clear error when absent or broken."""
    path = Path(directory) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path}: no manifest (is {directory} a meow-data dataset?)"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: manifest is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{path}: manifest must be a JSON object")
    return manifest


def read_samples(path: str | Path) -> list[Sample]:
    """Read one JSONL split; malformed lines raise ValueError naming the file and line."""
    samples = []
    with Path(path).open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(f"{path}:{number}: not valid UTF-8") from None
            try:
                row = json.loads(line)
                samples.append(
                    Sample(row["input"], row["output"], row["category"], row.get("source", ""))
                )
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a dataset row ({exc})") from None
    return samples
