"""The training loop: bucketed batches, AdamW + warmup/cosine, periodic character evaluation.

Checkpoints: `RUN_DIR/best/` (highest pass rate on the persona's selection suite, ties broken by
val loss) and `RUN_DIR/last/` are model directories in the meow-model format; `RUN_DIR/state/` is
the resumable state. Ctrl-C or SIGTERM finishes the current step, saves, and exits cleanly. Under
`torchrun` the same global batch is split across ranks and only rank 0 writes files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import signal
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import torch
from tqdm import tqdm

import meow_model
import meow_rules
from meow_model import CHAT_FORMAT, ChatTokenizer, read_chat_format
from meow_model.pytorch import IGNORE_INDEX, MeowForCausalLM, pick_device, save_pretrained
from meow_rules import HARD_NEGATIVE, MISO, SELECTION, Persona, load_persona
from meow_train.__about__ import __version__
from meow_train.batches import (
    collate,
    epoch_batches,
    noisy_prompts,
    prompt_targets,
    shard,
    topic_batch,
)
from meow_train.config import TrainConfig
from meow_train.dataset import Dataset, DatasetError, Encoded, encode, load_dataset
from meow_train.distributed import (
    World,
    all_reduce_sum,
    barrier,
    broadcast_flags,
    init_world,
    rank0_value,
    shutdown,
)
from meow_train.evaluate import evaluate
from meow_train.run_dir import (
    CONFIG_FILE,
    RunDirError,
    RunLock,
    check_resume_config,
    check_run_dir,
    elastic_restart_can_resume,
    portable_config,
    prepare_run_dir,
    relative_to_run,
)
from meow_train.schedule import lr_at
from meow_train.state import TrainState, load_state, save_state
from meow_train.tokenizer_fit import fit_tokenizer
from meow_train.topic_head import TrainModule

TOKENIZER_FILE = "tokenizer.json"
METRICS_FILE = "metrics.jsonl"
SMALL_DATASET = 1000  # below this many training samples a run is warned that it will memorise
# With only a time budget, the schedule's length is unknown until the first steps are timed:
# they run on a provisional cosine this long, then the length is fixed from the measured speed,
# allowing this fraction of extra time for the periodic evaluations. The first steps of a process
# are not timed: they carry one-off costs (torch.compile compiles the model there, a minute on a
# laptop CPU), and a schedule planned from them would end the run long before its budget.
CALIBRATION_WARMUP = 10
CALIBRATION_STEPS = 30
PROVISIONAL_TOTAL_STEPS = 10_000
EVAL_OVERHEAD = 0.08


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    steps: int
    best_pass_rate: float | None
    best_val_loss: float | None
    interrupted: bool
    elapsed_s: float


def cpu_supports_bf16() -> bool:
    """True on CPUs with native bf16 arithmetic (AVX-512 BF16 or AMX), where autocast pays off."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for plain fp32."""
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    return torch.bfloat16 if device.type == "cpu" and cpu_supports_bf16() else None


class _StopRequest:
    """Turns the first Ctrl-C / SIGTERM into a request to save and stop; a second one aborts."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopRequest:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def train(
    cfg: TrainConfig, resume: bool = False, force: bool = False, quiet: bool = False
) -> TrainResult:
    """Run (or resume) a training run as configured; return where it ended."""
    device = pick_device(cfg.device)
    world = init_world(device.type)
    if world.distributed and device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
    try:
        return _train(cfg, world, device, resume, force, quiet)
    finally:
        shutdown(world)


def _train(
    cfg: TrainConfig, world: World, device: torch.device, resume: bool, force: bool, quiet: bool
) -> TrainResult:
    run_dir = Path(cfg.out)
    persona = load_persona(cfg.persona) if cfg.persona else MISO
    if not resume and elastic_restart_can_resume(run_dir):
        resume = True  # torchrun --max-restarts brought the job back: go on from the last state
        if world.is_main:  # said even with --quiet: it explains the repeated steps in the log
            print(
                f"torchrun restart: resuming {run_dir} from its last saved state", file=sys.stderr
            )
    if world.is_main:
        RunLock.refuse_if_held(run_dir)  # a busy directory is busy, whatever else it lacks
        check_run_dir(run_dir, resume, force)  # before the lock file is created in it
    with RunLock(run_dir) if world.is_main else nullcontext():
        if world.is_main:
            prepare_run_dir(run_dir, resume, force)
        barrier(world)
        return _train_locked(cfg, world, device, resume, quiet, run_dir, persona)


def _train_locked(
    cfg: TrainConfig,
    world: World,
    device: torch.device,
    resume: bool,
    quiet: bool,
    run_dir: Path,
    persona: Persona,
) -> TrainResult:
    run = _setup(cfg, world, device, resume, quiet, run_dir, persona)
    try:
        interrupted = _loop(run)
    finally:
        if run.metrics:
            run.metrics.close()
    return _finish(run, interrupted)


@dataclass
class _Run:
    """Everything one training run holds while its loop runs."""

    cfg: TrainConfig
    world: World
    device: torch.device
    run_dir: Path
    quiet: bool
    model: MeowForCausalLM
    module: TrainModule  # the model plus the training-only topic head: what is optimised and saved
    net: torch.nn.Module  # the module as trained: wrapped by DDP and/or torch.compile
    optimizer: torch.optim.AdamW
    train_data: Encoded
    autocast_dtype: torch.dtype | None
    state: TrainState
    budget_s: float
    evaluator: _Evaluator
    metrics: IO[str] | None
    last_eval_step: int
    clock_start: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        return time.perf_counter() - self.clock_start

    def checkpoint(self, final: bool) -> None:
        """Evaluate and save best/ and last/ (unless this step already was), then the state."""
        self.state.elapsed = self.elapsed()
        if self.last_eval_step != self.state.step:
            self.evaluator(self.state, final)
            self.last_eval_step = self.state.step
        if self.world.is_main:
            save_state(self.run_dir, self.module, self.optimizer, self.state)
        barrier(self.world)


def _setup(
    cfg: TrainConfig,
    world: World,
    device: torch.device,
    resume: bool,
    quiet: bool,
    run_dir: Path,
    persona: Persona,
) -> _Run:
    """Data, tokenizer, model, optimizer and loop state: fresh, or restored for --resume."""
    resumed_changes = check_resume_config(cfg, run_dir) if resume else {}
    dataset = load_dataset(cfg.data, verify=cfg.verify_data)
    tokenizer = _tokenizer(cfg, run_dir, resume, dataset.train, world)
    topics = [*persona.categories, HARD_NEGATIVE]
    train_data = encode(dataset.train, tokenizer, cfg.max_seq_len, topics)
    val_data = encode(dataset.val, tokenizer, cfg.max_seq_len)
    if not len(train_data) or not len(val_data):
        raise DatasetError(
            f"{cfg.data}: no sample of a split fits a context of {cfg.max_seq_len} tokens "
            "(raise --context)"
        )
    torch.manual_seed(cfg.seed)
    model = MeowForCausalLM(cfg.model_config(tokenizer.vocab_size)).to(device)
    module = TrainModule(model, len(topics), cfg.topic_loss_weight, cfg.prompt_loss_weight)
    module = module.to(device)
    optimizer = _optimizer(module, cfg, device)
    state = TrainState()
    if resume:
        state = load_state(run_dir, module, optimizer)
        if cfg.steps is not None and cfg.steps < state.step:
            raise RunDirError(
                f"{run_dir}: --steps {cfg.steps} is below the {state.step} steps this run "
                "has already done"
            )
    if world.is_main and (not resume or resumed_changes):
        (run_dir / CONFIG_FILE).write_text(
            json.dumps(cfg.to_dict(), indent=2) + "\n", encoding="utf-8"
        )
    _plan_schedule(
        state, cfg, len(train_data), resumed=bool({"steps", "epochs"} & set(resumed_changes))
    )
    autocast_dtype = resolve_precision(cfg.precision, device)
    net: torch.nn.Module = module
    if world.distributed:
        net = torch.nn.parallel.DistributedDataParallel(
            module, device_ids=[device.index] if device.type == "cuda" else None
        )
    if cfg.compile:
        net = torch.compile(net)
    describe = _describe(cfg, run_dir, persona, dataset, model, device, autocast_dtype, world)
    describe["dropped_too_long"] = {"train": train_data.dropped, "val": val_data.dropped}
    _announce(cfg, world, quiet, describe, model, device, tokenizer, train_data, val_data)
    # line-buffered: each row is on disk as soon as it is logged, for anyone watching the run
    metrics = (
        (run_dir / METRICS_FILE).open("a", encoding="utf-8", buffering=1) if world.is_main else None
    )
    if resumed_changes:
        changed = {name: {"was": was, "now": now} for name, (was, now) in resumed_changes.items()}
        _log(metrics, {"event": "resume", "step": state.step, "changed": changed})
        if not quiet and world.is_main:
            print(f"resuming at step {state.step} with " + ", ".join(
                f"{name} {was} -> {now}" for name, (was, now) in resumed_changes.items()), file=sys.stderr)  # fmt: skip
    evaluator = _Evaluator(model, tokenizer, val_data, cfg, device, autocast_dtype, persona,
                           describe, run_dir, metrics, world)  # fmt: skip
    return _Run(
        cfg, world, device, run_dir, quiet, model, module, net, optimizer, train_data, autocast_dtype, state,
        budget_s=cfg.max_minutes * 60 if cfg.max_minutes else math.inf, evaluator=evaluator,
        metrics=metrics, last_eval_step=state.step if resume else -1,
        clock_start=time.perf_counter() - state.elapsed,
    )  # fmt: skip


def _plan_schedule(state: TrainState, cfg: TrainConfig, samples: int, resumed: bool) -> None:
    """Fix the schedule's length from --steps / --epochs; a time budget alone fixes it later."""
    batches_per_epoch = math.ceil(samples / cfg.batch_size)
    planned = [
        n
        for n in (cfg.steps, math.ceil(cfg.epochs * batches_per_epoch) if cfg.epochs else None)
        if n
    ]
    if planned and (state.total_steps is None or resumed):
        # a resumed run given a new stopping point stretches its schedule to it
        state.total_steps = min(planned)


def _describe(cfg: TrainConfig, run_dir: Path, persona: Persona, dataset: Dataset, model: MeowForCausalLM,
              device: torch.device, autocast_dtype: torch.dtype | None, world: World) -> dict[str, Any]:  # fmt: skip
    """What every checkpoint's meta.json records about the run (no machine paths)."""
    manifest_sha = hashlib.sha256((Path(cfg.data) / "manifest.json").read_bytes()).hexdigest()
    return {
        "persona": persona.name,
        "dataset": {"name": Path(cfg.data).resolve().name, "path": relative_to_run(cfg.data, run_dir), "manifest_sha256": manifest_sha,
                    "verified": cfg.verify_data, "versions": dataset.manifest.get("versions")},
        "versions": {"meow-train": __version__, "meow-model": meow_model.__version__, "meow-rules": meow_rules.__version__, "torch": torch.__version__},
        "train_config": portable_config(cfg, run_dir),
        "device": str(device),
        "precision": str(autocast_dtype or torch.float32).removeprefix("torch."),
        "world_size": world.size,
        "parameters": model.num_parameters(),
    }  # fmt: skip


def _announce(cfg: TrainConfig, world: World, quiet: bool, describe: dict[str, Any], model: MeowForCausalLM,
              device: torch.device, tokenizer: ChatTokenizer, train_data: Encoded, val_data: Encoded) -> None:  # fmt: skip
    if not world.is_main:
        return
    if train_data.dropped or val_data.dropped:
        print(f"left out {train_data.dropped} train / {val_data.dropped} val samples whose prompt fills the "
              f"whole {cfg.max_seq_len}-token context", file=sys.stderr)  # fmt: skip
    if len(train_data) < SMALL_DATASET:
        print(f"warning: only {len(train_data)} training samples: the model will learn these sentences, "
              f"not the character; generate {SMALL_DATASET * 20:,} or more "
              f"(meow-data generate --n {SMALL_DATASET * 20})", file=sys.stderr)  # fmt: skip
    if not quiet:
        print(
            f"training {model.num_parameters() / 1e6:.2f}M parameters on {device} ({describe['precision']}, "
            f"{world.size} process{'es' if world.size > 1 else ''}, {torch.get_num_threads()} threads); "
            f"{len(train_data)} train / {len(val_data)} val samples, vocab {tokenizer.vocab_size}",
            file=sys.stderr,
        )


def _loop(run: _Run) -> bool:
    """Train until the step, epoch or time limit, or a stop request; True when interrupted."""
    cfg, state, world = run.cfg, run.state, run.world
    # disable=None lets tqdm draw only on a terminal, so logs and CI output stay clean
    bar = tqdm(total=state.total_steps, initial=state.step, unit="step", dynamic_ncols=True,
               disable=True if run.quiet or not world.is_main else None)  # fmt: skip
    throughput = _Throughput()
    first_step = state.step  # of this process: a resumed run warms up (compiles) again
    calibration: list[float] | None = None  # [step, elapsed, evaluation s] since timing began
    lengths = run.train_data.lengths()
    interrupted = False
    run.net.train()
    with _StopRequest() as stop:
        # a resumed run that had already finished has nothing left to do
        done = state.total_steps is not None and state.step >= state.total_steps
        while not done:
            batches = epoch_batches(lengths, cfg.batch_size, cfg.seed, state.epoch)
            while state.batch < len(batches):
                loss, supervised = _train_step(run, batches[state.batch])
                throughput.add(supervised)
                bar.update(1)
                if state.step % cfg.log_every == 0 or state.step == 1:
                    rate = throughput.rate()
                    bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{rate:,.0f}")
                    _log(run.metrics, {"event": "train", "step": state.step, "loss": loss,
                                       "lr": run.optimizer.param_groups[0]["lr"],
                                       "supervised_tokens_per_s": rate, "elapsed_s": run.elapsed()})  # fmt: skip
                if state.total_steps is None:
                    if calibration is None and state.step - first_step >= CALIBRATION_WARMUP:
                        calibration = [state.step, run.elapsed(), 0.0]
                    elif calibration and state.step - calibration[0] == CALIBRATION_STEPS:
                        timed = run.elapsed() - calibration[1] - calibration[2]
                        planned = _steps_in_budget(state.step, run.elapsed(), timed, run.budget_s)
                        state.total_steps = rank0_value(planned, world)  # one plan for all ranks
                        bar.total = state.total_steps
                        bar.refresh()
                finished = state.total_steps is not None and state.step >= state.total_steps
                # every rank stops at the same step, or the others would wait for it forever
                interrupted, out_of_time = broadcast_flags(
                    [stop.requested, run.elapsed() >= run.budget_s], world
                )
                if interrupted or finished or out_of_time:
                    done = True
                    break
                if state.step % cfg.eval_every == 0:
                    evaluation_start = run.elapsed()
                    run.checkpoint(final=False)
                    run.net.train()
                    if calibration:  # the plan is timed on training steps alone
                        calibration[2] += run.elapsed() - evaluation_start
            else:
                state.epoch += 1
                state.batch = 0
        bar.close()
        run.checkpoint(final=True)
    return interrupted


def _steps_in_budget(step: int, elapsed_s: float, timed_s: float, budget_s: float) -> int:
    """A time budget alone: the schedule's length, from the speed of `CALIBRATION_STEPS` timed
    steps (`timed_s`) after the warm-up, for the time the budget has left after `step`."""
    per_step = timed_s / CALIBRATION_STEPS * (1 + EVAL_OVERHEAD)
    return step + max(1, int((budget_s - elapsed_s) / per_step))


def _train_step(run: _Run, batch: list[int]) -> tuple[float, int]:
    """Set this step's learning rate, train on this rank's rows, advance the state."""
    state, cfg = run.state, run.cfg
    total = state.total_steps or max(state.step + 1, PROVISIONAL_TOTAL_STEPS)
    for group in run.optimizer.param_groups:
        group["lr"] = lr_at(state.step, total, cfg.lr, cfg.warmup_steps, cfg.min_lr_ratio)
    indices = shard(batch, run.world.rank, run.world.size)
    noise = None
    if cfg.prompt_noise:  # one draw per (seed, step, rank): a resumed run repeats it exactly
        noise = torch.Generator().manual_seed(
            (cfg.seed * 1_000_003 + state.step) * 64 + run.world.rank
        )
    loss, supervised = _step(run.net, run.module, run.optimizer, run.train_data, indices, cfg,
                             run.device, run.autocast_dtype, run.world, noise)  # fmt: skip
    state.step += 1
    state.batch += 1
    state.tokens += supervised
    return loss, supervised


class _Throughput:
    """Supervised tokens per second since the last reading."""

    def __init__(self) -> None:
        self.tokens, self.since = 0, time.perf_counter()

    def add(self, tokens: int) -> None:
        self.tokens += tokens

    def rate(self) -> float:
        now = time.perf_counter()
        rate = self.tokens / max(now - self.since, 1e-9)
        self.tokens, self.since = 0, now
        return rate


def _finish(run: _Run, interrupted: bool) -> TrainResult:
    state = run.state
    best = state.best or {}
    if run.world.is_main and not run.quiet:
        verb = "interrupted; saved" if interrupted else "finished"
        print(f"{verb} at step {state.step} after {state.elapsed / 60:.1f} min; best pass rate "
              f"{best.get('pass_rate', 0):.1%} at step {best.get('step')} -> {run.run_dir / 'best'}", file=sys.stderr)  # fmt: skip
    return TrainResult(run.run_dir, state.step, best.get("pass_rate"), best.get("val_loss"),
                       interrupted, state.elapsed)  # fmt: skip


def _tokenizer(
    cfg: TrainConfig, run_dir: Path, resume: bool, train_examples: list, world: World
) -> ChatTokenizer:
    saved = run_dir / TOKENIZER_FILE
    if resume and saved.is_file():
        return ChatTokenizer.from_file(saved, _run_chat_format(run_dir))
    tokenizer = (
        ChatTokenizer.from_file(cfg.tokenizer, CHAT_FORMAT)
        if cfg.tokenizer
        else fit_tokenizer(train_examples, cfg.vocab_size)
    )
    if world.is_main:
        tokenizer.save(saved)
    return tokenizer


def _run_chat_format(run_dir: Path) -> int:
    """The chat format a run was trained in (1 for a run of meow-train < 3.3), from its checkpoints:
    a resumed run goes on in it, or its model would read prompts two ways."""
    for checkpoint in ("last", "best"):
        if (run_dir / checkpoint).is_dir():
            return read_chat_format(run_dir / checkpoint)
    raise RunDirError(
        f"{run_dir}: neither last/ nor best/ is there to say which chat format the run was "
        "trained in; restore one of them, or start a new run"
    )


def _optimizer(model: torch.nn.Module, cfg: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not norms)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95), fused=device.type == "cuda")


def _autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def _step(
    net: torch.nn.Module,
    module: TrainModule,
    optimizer: torch.optim.Optimizer,
    data: Encoded,
    indices: list[int],
    cfg: TrainConfig,
    device: torch.device,
    dtype: torch.dtype | None,
    world: World,
    noise: torch.Generator | None,
) -> tuple[float, int]:
    """One optimizer step on this rank's rows; returns (global mean loss, global supervised tokens)."""
    inputs, targets = collate(data, indices)
    starts = [data.reply_starts[i] for i in indices]
    prompt = prompt_targets(inputs, starts).to(device) if cfg.prompt_loss_weight else None
    if noise is not None:
        vocab = module.model.config.vocab_size
        inputs = noisy_prompts(inputs, starts, cfg.prompt_noise, vocab, noise)
    topic_pos, topics = topic_batch(data, indices)
    inputs, targets = inputs.to(device, non_blocking=True), targets.to(device, non_blocking=True)
    topic_pos, topics = topic_pos.to(device), topics.to(device)
    local = (targets != IGNORE_INDEX).sum()
    count = all_reduce_sum(local.detach().clone().float(), world)
    with _autocast(device, dtype):
        objective, loss = net(inputs, targets, topic_pos, topics, prompt)
    # scale so that DDP's gradient average equals the mean over the *global* supervised tokens
    scaled = objective * local * world.size / count
    optimizer.zero_grad(set_to_none=True)
    scaled.backward()
    if cfg.grad_clip:
        torch.nn.utils.clip_grad_norm_(module.parameters(), cfg.grad_clip)
    optimizer.step()
    total_loss = all_reduce_sum((loss.detach().float() * local).reshape(1), world)
    return float(total_loss / count), int(count)


@torch.no_grad()
def validation_loss(
    model: MeowForCausalLM,
    data: Encoded,
    device: torch.device,
    dtype: torch.dtype | None,
    batch_size: int = 128,
) -> float:
    """Mean loss per supervised token over a whole split."""
    model.eval()
    total, count = 0.0, 0
    order = sorted(range(len(data)), key=lambda i: len(data.ids[i]))
    for start in range(0, len(order), batch_size):
        inputs, targets = collate(data, order[start : start + batch_size])
        n = int((targets != IGNORE_INDEX).sum())
        with _autocast(device, dtype):
            _, loss = model(inputs.to(device), targets.to(device))
        total += float(loss) * n
        count += n
    return total / max(count, 1)


@dataclass
class _Evaluator:
    """Everything a periodic evaluation needs; calling it scores the model and saves best/ and last/."""

    model: MeowForCausalLM
    tokenizer: ChatTokenizer
    val_data: Encoded
    cfg: TrainConfig
    device: torch.device
    dtype: torch.dtype | None
    persona: Persona
    describe: dict[str, Any]
    run_dir: Path
    metrics: Any
    world: World

    def __call__(self, state: TrainState, final: bool) -> None:
        if self.world.is_main:
            self._evaluate_and_save(state, final)
        barrier(self.world)

    def _evaluate_and_save(self, state: TrainState, final: bool) -> None:
        model, tokenizer = self.model, self.tokenizer
        val_loss = validation_loss(model, self.val_data, self.device, self.dtype)
        # The selection suite only: the report suites never see training, so they stay honest.
        report = evaluate(
            model,
            tokenizer,
            self.persona,
            samples=1,
            seed=self.cfg.seed,
            limit=self.cfg.eval_limit,
            suite=SELECTION,
        ).to_dict()
        model.train()
        score = {"step": state.step, "pass_rate": report["pass_rate"], "val_loss": val_loss}
        _log(
            self.metrics,
            {
                "event": "eval",
                **score,
                "checks": report["checks"],
                "categories": {c: r["pass_rate"] for c, r in report["categories"].items()},
                "elapsed_s": state.elapsed,
            },
        )
        meta = {**self.describe, "step": state.step, "epoch": state.epoch, "wall_time_s": state.elapsed,
                "val_loss": val_loss, "eval": {k: v for k, v in report.items() if k != "failures"}}  # fmt: skip
        best = state.best
        if best is None or (score["pass_rate"], -score["val_loss"]) > (
            best["pass_rate"],
            -best["val_loss"],
        ):
            state.best = score
            best_meta = {**meta, "selected_by": "selection-suite pass rate, then val loss"}
            save_pretrained(model, tokenizer, self.run_dir / "best", meta=best_meta)
        save_pretrained(model, tokenizer, self.run_dir / "last", meta=meta)
        suffix = " (final)" if final else ""
        tqdm.write(
            f"step {state.step}: val loss {val_loss:.4f}, selection pass rate {report['pass_rate']:.1%}{suffix}",
            file=sys.stderr,
        )


def _log(metrics: Any, row: dict[str, Any]) -> None:
    if metrics is not None:
        metrics.write(json.dumps(row) + "\n")
        metrics.flush()
