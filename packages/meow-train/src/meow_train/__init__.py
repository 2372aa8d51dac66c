"""meow-train: fit tokenizers, train MeowLLM models fast (CPU, GPU, torchrun), evaluate character fidelity.

>>> from meow_train import TrainConfig, train
>>> train(TrainConfig(data="data/", out="runs/miso", max_minutes=10))
>>> plot_run("runs/miso")  # training.png: losses, learning rate, pass rates per category
"""

from meow_train.__about__ import __version__
from meow_train.compare import CompareError, compare_reports, read_report
from meow_train.config import TrainConfig
from meow_train.dataset import Dataset, DatasetError, Example, load_dataset
from meow_train.evaluate import (
    DEFAULT_SAMPLING,
    EvalReport,
    evaluate,
    evaluate_suites,
    format_report,
)
from meow_train.plot import PlotError, plot_run
from meow_train.run_dir import RunDirError
from meow_train.state import StateError
from meow_train.tokenizer_fit import fit_tokenizer
from meow_train.trainer import TrainResult, train

__all__ = [
    "DEFAULT_SAMPLING",
    "CompareError",
    "Dataset",
    "DatasetError",
    "EvalReport",
    "Example",
    "PlotError",
    "RunDirError",
    "StateError",
    "TrainConfig",
    "TrainResult",
    "__version__",
    "compare_reports",
    "evaluate",
    "evaluate_suites",
    "fit_tokenizer",
    "format_report",
    "load_dataset",
    "plot_run",
    "read_report",
    "train",
]
