"""`meow-train plot`: one PNG of how a run went, from its metrics.jsonl.

Four panels: training and validation loss, the learning rate, the selection-suite pass rate, and
that pass rate per category over the eval steps (a heatmap: with 26 categories, lines would be
a tangle). Needs matplotlib (`pip install "meow-train[plot]"`); everything else reads JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PLOT_FILE = "training.png"
SIZE_INCHES, DPI = (12.0, 8.0), 100  # 1200 x 800 pixels


class PlotError(ValueError):
    """The run cannot be plotted: no metrics, unreadable lines, or no matplotlib."""


def read_metrics(run_dir: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The run's train and eval events, in order; errors name the file and line."""
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        raise PlotError(f"{path}: not found (is {run_dir} a meow-train run directory?)")
    train, evals = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PlotError(f"{path}:{number}: not valid JSON: {exc.msg}") from None
        if row.get("event") == "train":
            train.append(row)
        elif row.get("event") == "eval":
            evals.append(row)
    if not train:
        raise PlotError(f"{path}: no training steps logged yet")
    return train, evals


def plot_run(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the run's training curves as a PNG (default RUN_DIR/training.png); returns its path."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotError("plotting needs matplotlib: pip install 'meow-train[plot]'") from None
    run_dir = Path(run_dir)
    out = Path(out) if out is not None else run_dir / PLOT_FILE
    train, evals = read_metrics(run_dir)
    fig, axes = plt.subplots(2, 2, figsize=SIZE_INCHES, dpi=DPI)
    (loss_ax, lr_ax), (pass_ax, cat_ax) = axes
    steps = [r["step"] for r in train]
    loss_ax.plot(steps, [r["loss"] for r in train], label="train loss", lw=1)
    if evals:
        loss_ax.plot([e["step"] for e in evals], [e["val_loss"] for e in evals], "o-",
                     label="val loss")  # fmt: skip
    loss_ax.set(title="loss (reply tokens)", xlabel="step", yscale="log")
    loss_ax.legend()
    lr_ax.plot(steps, [r["lr"] for r in train], color="tab:green")
    lr_ax.set(title="learning rate", xlabel="step")
    if evals:
        pass_ax.plot([e["step"] for e in evals], [100 * e["pass_rate"] for e in evals], "o-",
                     color="tab:orange")  # fmt: skip
    pass_ax.set(title="selection-suite pass rate (%)", xlabel="step", ylim=(0, 100))
    _category_heatmap(fig, cat_ax, evals)
    fig.suptitle(f"{run_dir}: {steps[-1]} steps")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
    return out


def _category_heatmap(fig: Any, ax: Any, evals: list[dict[str, Any]]) -> None:
    with_categories = [e for e in evals if e.get("categories")]
    ax.set(title="pass rate per category (selection suite)")
    if not with_categories:
        ax.text(0.5, 0.5, "no per-category evals in this run", ha="center", va="center")
        ax.set_axis_off()
        return
    categories = sorted({c for e in with_categories for c in e["categories"]})
    grid = [
        [100 * e["categories"].get(c, float("nan")) for e in with_categories] for c in categories
    ]
    image = ax.imshow(grid, aspect="auto", vmin=0, vmax=100, cmap="RdYlGn", interpolation="nearest")
    ax.set_yticks(range(len(categories)), categories, fontsize=7)
    ticks = range(0, len(with_categories), max(1, len(with_categories) // 8))
    ax.set_xticks(list(ticks), [str(with_categories[i]["step"]) for i in ticks])
    ax.set_xlabel("step")
    fig.colorbar(image, ax=ax, label="%")
