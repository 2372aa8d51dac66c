"""meow-data: a slot-based, rule-checked, leak-free dataset generator for character LMs.

>>> from meow_data import GenerateConfig, generate, write_dataset
>>> config = GenerateConfig(n=2000, seed=0)
>>> manifest = write_dataset(generate(config), config, "data/")

A new character starts with `scaffold_character` (`meow-data init`) and is checked with
`lint_banks` (`meow-data lint`) before any training.
"""

from meow_data.__about__ import __version__
from meow_data.banks import BankError, CategoryBank, default_banks_dir, load_banks
from meow_data.card import dataset_card, write_dataset_card
from meow_data.dataset import (
    DATASET_FILES,
    FORMAT_VERSION,
    DatasetExistsError,
    read_manifest,
    read_samples,
    write_dataset,
)
from meow_data.generate import GenerateConfig, Generated, Sample, generate, split_by_prompt
from meow_data.lint import Finding, lint_banks
from meow_data.scaffold import ScaffoldError, scaffold_character
from meow_data.stats import Stats, dataset_stats, distinct_n
from meow_data.validate import Problem, Report, validate

__all__ = [
    "DATASET_FILES",
    "FORMAT_VERSION",
    "BankError",
    "CategoryBank",
    "DatasetExistsError",
    "Finding",
    "GenerateConfig",
    "Generated",
    "Problem",
    "Report",
    "Sample",
    "ScaffoldError",
    "Stats",
    "__version__",
    "dataset_card",
    "dataset_stats",
    "default_banks_dir",
    "distinct_n",
    "generate",
    "lint_banks",
    "load_banks",
    "read_manifest",
    "read_samples",
    "scaffold_character",
    "split_by_prompt",
    "validate",
    "write_dataset",
    "write_dataset_card",
]
