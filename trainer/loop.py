"""The training loop: fine-tune (or train from scratch) DFNet or DMFN on a folder of photos.

One :class:`Trainer` runs one process of a run. Under ``torchrun --nproc_per_node N`` each process trains on
its own photo/mask streams and DistributedDataParallel averages the gradients (NCCL on GPUs, gloo on the CPU);
only rank 0 writes checkpoints, previews, progress and the exported model.

Precision (`trainer.precision`): autocast in bfloat16 or float16 where it pays, else float32; on CUDA also
channels_last tensors and fused Adam. Losses are read back from the GPU only every ``report_every`` steps so the GPU
queue never drains for a progress line.

Stopping: after ``steps`` steps or ``minutes`` minutes, whichever comes first. ``minutes`` is the whole run's
wall-clock budget (`trainer.budget`), from the process's start to the export: reading the photos stops after a
share of it, the first `TIMING_STEPS` steps are timed and the run says how many steps the budget buys (a budget
buying fewer than `MIN_USEFUL_STEPS` is refused, naming the budget needed, with nothing trained or exported), and
training stops when the next step would eat into what is kept for the scoring (its cost per pair timed on one
held-out pair before training) and the export (a timed checkpoint write). SIGTERM or Ctrl+C (SIGINT) stop
at the next step boundary after writing a checkpoint (a second Ctrl+C aborts at once; `trainer.stop_signals`). Every
``checkpoint_every`` steps and at the end the run folder's ``checkpoint.pt`` is replaced atomically; a run that
reached its limit is marked finished there, and resuming it without a new limit trains and exports nothing.

At the end the base and the fine-tuned generator are compared on held-out pairs (`trainer.before_after`: fixed
seeded masks, hard composite: known pixels from the photo, hole pixels from the network) with engine.metrics, per
hole-ratio bin, as many pairs as the time left allows, and the generator is exported as ``NAME.safetensors`` +
``NAME.json`` into the user's models folder (`trainer.fine_tuned`) - unless the scoring says it did not help
(``keep_unhelpful`` exports it anyway).
"""

from __future__ import annotations

import contextlib
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn

from engine.device import resolve_device
from engine.errors import FusionPaintError
from engine.model_spec import NetworkSpec
from engine.paths import user_runs_dir
from engine.registry import build_network, get_spec, network_spec
from engine.weights import load_into, load_weights
from trainer.arches import Preview, StepContext, check, input_fill
from trainer.before_after import ScoringPlan, plan_scoring, score_before_after
from trainer.budget import MIN_USEFUL_STEPS, READING_SHARE, TIMING_STEPS, Budget, needed_minutes
from trainer.checkpoint import (
    load_checkpoint,
    resolve_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from trainer.config import INIT_DEFAULT, INIT_RANDOM, MIN_PHOTO_SIDE, TrainConfig
from trainer.data import BatchSampler, BatchSource, PhotoCache, TrainingBatch, split_folder
from trainer.distributed import DistInfo, average_gradients, dist_info_from_env, unwrap
from trainer.errors import NAME_RE, ConfigError
from trainer.evaluate import held_out_images, judge
from trainer.fine_tuned import export_fine_tuned, fine_tuned_card
from trainer.masks import FolderMaskSampler, MaskSampler
from trainer.precision import autocast_context, enable_fast_cuda_math, grad_scaler, resolve_amp_dtype
from trainer.prefill_pool import PrefilledPool
from trainer.preview import preview_grid, write_preview
from trainer.progress import Progress
from trainer.runs import CHECKPOINT_NAME, folder_bytes, write_summary
from trainer.stop_signals import EXIT_STOPPED, StopSignals

__all__ = ["EXIT_STOPPED", "RESUME_OVERRIDES", "TrainResult", "Trainer", "preview_grid", "resolve_amp_dtype", "train"]

RESUME_OVERRIDES = ("steps", "minutes", "device", "checkpoint_every", "preview_every", "workers", "evaluate",
                    "clip_grad", "compile", "keep_unhelpful")
"""Settings a resumed run may change; everything else comes from the checkpoint."""
POOL_SEED_OFFSET = 7000
"""The pool of pre-filled samples draws from photo and mask streams seeded ``seed + POOL_SEED_OFFSET``, apart from the
run's own, so a resumed run rebuilds the same pool."""


# ----------------------------------------------------------------------------------------------- results


@dataclass
class TrainResult:
    """What a run ended with. status: "done" or "stopped"; exit_code 0, 130 (SIGINT) or 143 (SIGTERM)."""

    status: str
    step: int
    exit_code: int = 0
    checkpoint: Path | None = None
    model_name: str | None = None
    weights: Path | None = None
    card: Path | None = None
    before: dict | None = None
    after: dict | None = None
    helped: bool | None = None
    summary: str = ""
    last_losses: dict[str, float] = field(default_factory=dict)
    loss_history: list[dict[str, float]] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------- trainer


class Trainer:
    """One process of a training run; call :meth:`run` (or :meth:`setup` then :meth:`train_step` for benchmarks).

    ``resume``: a checkpoint file or run folder; its config is used (``config`` may then be None) with
    ``overrides`` ({setting: value} for the names in `RESUME_OVERRIDES`) applied.
    ``export``: write NAME.safetensors + NAME.json at the end (rank 0).
    ``report_every``: read the losses back every this many steps (None = 1 on the CPU, 10 on a GPU).
    ``started``: ``time.perf_counter()`` time the time budget counts from (None = now).
    """

    def __init__(
        self,
        config: TrainConfig | None,
        progress: Progress | None = None,
        *,
        resume: str | Path | None = None,
        overrides: dict | None = None,
        export: bool = True,
        report_every: int | None = None,
        dist_info: DistInfo | None = None,
        started: float | None = None,
    ) -> None:
        started = time.perf_counter() if started is None else started  # ``minutes`` counts from here
        self.dist = dist_info or dist_info_from_env()
        self.progress = progress or Progress(enabled=False)
        if not self.dist.is_main:
            self.progress = Progress(enabled=False)
        self.resume_state: dict | None = None
        self._new_limit = bool({"steps", "minutes"} & set(overrides or {}))
        if resume is not None:
            self.resume_state = load_checkpoint(resume)
            config = _merge_resume_config(TrainConfig.from_dict(self.resume_state["config"]), overrides)
            # the run continues in the folder it was resumed from, never where the checkpoint's text points
            config.run_dir = str(resolve_checkpoint(resume).parent)
        elif config is not None:
            config = config.with_absolute_paths()  # a resumed run finds them from any working folder
        if config is None:
            raise ConfigError("a training run needs a configuration or a checkpoint to resume")
        self.recipe = check(config)
        self.config = config
        self.budget = Budget(None if config.minutes is None else 60.0 * config.minutes, started)
        self._estimated = False
        self._step_s = 0.0
        """Expected seconds of a training step (timed as the run goes)."""
        self.finished = False
        """True once the run reached its step or time limit (stored in the checkpoint)."""
        self._phase_t = 0.0
        """``time.perf_counter()`` time of the latest ``phase`` event (they are sent at most twice a second)."""
        self._phase_name = ""
        """The ``name`` of the latest ``phase`` event: a new phase is always reported at once."""
        self.export = export
        self._report_every = report_every
        self.step = 0
        self.elapsed_before = 0.0
        self.cpu_before = 0.0
        self._setup_done = False
        self.part_times: dict[str, float] | None = None
        """Seconds per part of the step ("generator forward", "backward", ...) when set to a dict (benchmarks)."""
        self.last_preview: Preview | None = None
        """The latest step's preview (written every ``preview_every`` steps)."""
        self.pool: PrefilledPool | None = None
        """The pre-filled training samples the run trains on, when it uses a pool (`trainer.prefill_pool`)."""
        self._pool_state: dict | None = None
        """The pool's position from the checkpoint being resumed (applied once the pool is rebuilt)."""
        self.scoring = ScoringPlan()
        """The before/after scoring the run ends with (planned before training; `trainer.before_after`)."""

    # ------------------------------------------------------------------ setup

    def setup(self) -> None:
        """Devices, process group, data, networks, optimisers; restores the checkpoint when resuming."""
        cfg = self.config
        self.device = self._resolve_device()
        dev = self.device
        self.cuda = dev.type == "cuda"
        if self.cuda:
            torch.cuda.set_device(dev)
        if self.dist.enabled and not dist.is_initialized():
            dist.init_process_group(backend="nccl" if self.cuda else "gloo")
        if self.cuda:
            enable_fast_cuda_math()
        self.amp_dtype = resolve_amp_dtype(cfg.precision, dev)
        self.report_every = self._report_every or (10 if self.cuda else 1)
        self.batch = self.recipe.batch_for(cfg, dev.type)
        self.base_lr = self.recipe.lr(cfg)
        """The learning rate before the schedule (`trainer.config.TrainConfig.lr_at`)."""
        self.arch = cfg.arch
        self.run_name = self._run_name()
        self.run_dir = Path(cfg.run_dir) if cfg.run_dir else user_runs_dir() / self.run_name
        if self.resume_state is None:
            self._refuse_a_kept_run()
        self._run_dir_existed = self.run_dir.exists()

        self._setup_data()
        self.base_note = ""
        if cfg.input_fill is None:
            cfg.input_fill = self._base_input_fill()  # fixed from here on (stored in checkpoints)
        self.options = self.recipe.options(cfg)
        for name, value in vars(self.options).items():  # the network's defaults, fixed from here on (checkpoints)
            if getattr(cfg, name, value) is None:
                setattr(cfg, name, value)
        generator = self.build_base_generator()
        # channels_last: always on CUDA; on the CPU where the generator runs faster so (DFNet training with bf16
        # autocast: 11 % faster generator and 12 % faster VGG losses on an AVX512-BF16 CPU)
        channels_last = self.cuda or getattr(generator, "channels_last_on_cpu", False)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        # Module.to takes memory_format (documented) but PyTorch's annotations of its overloads leave it out
        self.generator: nn.Module = generator.to(dev, memory_format=self.memory_format)  # type: ignore[call-overload]
        self.recipe.set_train_mode(self.generator, cfg.train_part)
        if cfg.compile:
            self.generator.compile()  # in place: parameter names and checkpoints stay as without it
        _import_dynamo_without_its_cache()  # torch.optim imports it; only a compiled run may create its cache
        torch.manual_seed(cfg.seed + 1)
        self.discriminator: nn.Module | None = self.recipe.build_discriminator(dev, self.memory_format)
        lr = cfg.lr_at(0, self.base_lr)
        betas = self.recipe.adam_betas
        fused = {"fused": True} if self.cuda else {}
        trained = [p for p in self.generator.parameters() if p.requires_grad]
        self.optim_g = torch.optim.Adam(trained, lr=lr, betas=betas, **fused)
        self.optim_d = (
            torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=betas, **fused)
            if self.discriminator is not None else None
        )
        self.scaler = grad_scaler(self.amp_dtype)
        seed = cfg.seed + 1000 * self.dist.rank
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)
        random.seed(seed)
        if self.resume_state is not None:
            self._restore(self.resume_state)
            self.base_note = ""  # the weights come from the checkpoint, not from ``init`` (the start event says so)
        if self.dist.enabled:
            ids = [dev.index] if self.cuda else None
            self.generator = nn.parallel.DistributedDataParallel(self.generator, device_ids=ids)
            # the discriminator is called several times per step, so it is not wrapped in DDP: its gradients are
            # averaged explicitly (`trainer.distributed.average_gradients`) and its weights start equal (same seed or
            # checkpoint)
        self._build_losses()
        self.context = StepContext(
            generator=self.generator, optim_g=self.optim_g, vgg=self.vgg, options=self.options,
            backward_step=self.backward_step, autocast=self.autocast, part=self.part,
            discriminator=self.discriminator, optim_d=self.optim_d, step=self.step,
        )
        self._setup_done = True

    def _resolve_device(self) -> torch.device:
        try:
            dev = resolve_device(self.config.device)
        except FusionPaintError as exc:
            raise ConfigError(str(exc)) from exc
        if dev.type == "cuda" and self.dist.enabled:
            dev = torch.device("cuda", self.dist.local_rank)
        elif dev.type == "cuda" and dev.index is None:
            dev = torch.device("cuda", torch.cuda.current_device())
        return dev

    def _run_name(self) -> str:
        if self.resume_state is not None and self.config.run_dir and NAME_RE.fullmatch(Path(self.config.run_dir).name):
            return Path(self.config.run_dir).name  # the folder's name: a run renamed by the user keeps its new name
        if self.resume_state is not None and self.resume_state.get("run_name"):
            name = self.resume_state["run_name"]
            if not isinstance(name, str) or not NAME_RE.fullmatch(name):
                raise ConfigError(f"the checkpoint's run name {name!r} is not a valid model name")
            return name
        name = self.config.resolved_name()
        self.config.name = name  # fixed from here on (stored in checkpoints)
        return name

    def _setup_data(self) -> None:
        cfg = self.config
        try:
            # The split never depends on settings a resumed run may change, so the data order continues exactly.
            self.split = split_folder(cfg.data, held_out_fraction=cfg.held_out_fraction, min_held_out=5,
                                      seed=cfg.seed)
            total = len(self.split.train) + len(self.split.held_out)
            self.cache = PhotoCache.decode(
                self.split.train, min_side=MIN_PHOTO_SIDE, max_side=2 * cfg.size, log=self.progress.log,
                deadline=self.budget.deadline(READING_SHARE),
                progress=lambda done, _: self._phase("reading", done, total),
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        scored = cfg.evaluate and self.dist.is_main
        self._held_out = held_out_images(self.split.held_out, cfg.size, self.progress.log) if scored else []
        self._phase("reading", total, total)
        self.batches = self._batch_source(cfg.seed + 1000 * self.dist.rank, cfg.resolved_workers(self.device.type))

    def _batch_source(self, seed: int, prefetch: int = 0) -> BatchSource:
        """Crops of the cached photos and holes (the ``masks`` folder's or procedural ones), streams seeded ``seed``."""
        cfg = self.config
        photos = BatchSampler(self.cache, size=cfg.size, batch=self.batch, device=self.device, seed=seed)
        if cfg.masks:
            try:
                masks: MaskSampler | FolderMaskSampler = FolderMaskSampler(
                    cfg.masks, cfg.size, seed=seed + 500, device=self.device
                )
            except ValueError as exc:
                raise ConfigError(str(exc)) from exc
        else:
            masks = MaskSampler(cfg.size, seed=seed + 500, device=self.device)
        return BatchSource(photos, masks, prefetch=prefetch)

    def _build_pool(self) -> None:
        """Make the pool of pre-filled training samples when the run uses one (``prefill_pool``; automatic: with a
        time budget and the PatchMatch fill, as many samples as its share of the budget buys). The pool's size is
        stored in the config, so a resumed run rebuilds the same pool."""
        cfg = self.config
        samples = cfg.prefill_pool
        seconds = self.budget.seconds
        if samples is None:
            samples = None if seconds is not None and cfg.input_fill == "patchmatch" else 0
        if samples == 0:
            cfg.prefill_pool = 0
            return
        if cfg.input_fill is None or cfg.input_fill == "zeros":
            raise ConfigError("--prefill-pool needs a pre-fill in the hole (--input-fill), not zeros")
        seed = cfg.seed + 1000 * self.dist.rank + POOL_SEED_OFFSET
        source = self._batch_source(seed)
        self.pool = PrefilledPool.build(
            source, cfg.input_fill, samples, seed=seed,
            budget_s=seconds if self._pool_state is None else None,  # a resumed pool is rebuilt whole, as it was
            progress=lambda done, total: self._phase("pre-filling", done, total),
        )
        source.close()
        cfg.prefill_pool = len(self.pool)  # fixed from here on (stored in checkpoints)
        if self._pool_state is not None:
            self.pool.load_state_dict(self._pool_state)
        self._phase("pre-filling", len(self.pool), len(self.pool))

    def _refuse_a_kept_run(self) -> None:
        """ConfigError when the run folder already holds a checkpoint: a new run would overwrite an earlier one that
        the user may want to continue."""
        kept = self.run_dir / CHECKPOINT_NAME
        if kept.exists():
            raise ConfigError(f"a training run is already kept in {self.run_dir}: continue it with --resume "
                              f"{self.run_dir}, or choose another --name or --run-dir")

    def _base_input_fill(self) -> str:
        """The input fill of the weights the run starts from ("zeros" for random initialisation)."""
        init = self.config.init
        if init == INIT_RANDOM:
            return "zeros"
        try:
            spec = network_spec(self.arch) if init == INIT_DEFAULT else get_spec(Path(init).expanduser())
        except FusionPaintError as exc:
            raise ConfigError(str(exc)) from exc
        fill = spec.input_fill if isinstance(spec, NetworkSpec) else None
        return fill or "zeros"

    def build_base_generator(self) -> nn.Module:
        """The generator the run starts from (CPU, float32): ``init`` weights, or seeded random initialisation."""
        cfg = self.config
        torch.manual_seed(cfg.seed)
        net = build_network(self.arch)
        path: Path | None = None
        if cfg.init == INIT_DEFAULT:
            spec = network_spec(self.arch)
            if spec.has_weights and spec.weights_file is not None:
                path = spec.weights_file
            else:
                self.base_note = (
                    f"no shipped {self.arch} weights installed ({spec.weights_file}): "
                    "training starts from random initialisation"
                )
        elif cfg.init != INIT_RANDOM:
            path = Path(cfg.init).expanduser()
        if path is not None:
            try:
                load_into(net, load_weights(path), path, self.arch)
            except FusionPaintError as exc:
                raise ConfigError(str(exc)) from exc
            self.base_note = f"starting from {path}"
        else:
            assert cfg.input_fill is not None, "setup resolves the input fill before it builds the generator"
            self.recipe.start_random(net, cfg.input_fill)
            if cfg.init == INIT_RANDOM:
                self.base_note = "training from random initialisation (--init random)"
        return net

    def _build_losses(self) -> None:
        """The VGG19 features the recipe's losses read (None for a recipe that reads none)."""
        from trainer.vgg import VGG19Features

        self.vgg: VGG19Features | None = None
        if self.recipe.vgg_layers:
            vgg = VGG19Features(self.recipe.vgg_layers)
            # Module.to takes memory_format (documented) but PyTorch's annotations of its overloads leave it out
            self.vgg = vgg.to(self.device, memory_format=self.memory_format).eval()  # type: ignore[call-overload]

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict:
        """Everything a resumed run needs (see trainer.checkpoint)."""
        return {
            "arch": self.arch,
            "run_name": self.run_name,
            "step": self.step,
            "elapsed_s": self.elapsed_before + self._elapsed(),
            "cpu_s": self.cpu_before + self._cpu_elapsed(),
            "config": self.config.to_dict(),
            "generator": _cpu_state(unwrap(self.generator)),
            "discriminator": _cpu_state(unwrap(self.discriminator)) if self.discriminator is not None else None,
            "optim_g": self.optim_g.state_dict(),
            "optim_d": self.optim_d.state_dict() if self.optim_d is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "rng": rng_state(),
            "samplers": self.batches.state_dict(),
            "pool": self.pool.state_dict() if self.pool is not None else None,
            "world_size": self.dist.world_size,
            "finished": self.finished,
        }

    def _restore(self, state: dict) -> None:
        if state.get("arch") != self.arch:
            raise ConfigError(f"checkpoint is for {state.get('arch')}, not {self.arch}")
        self.generator.load_state_dict(state["generator"])
        if self.discriminator is not None and state.get("discriminator") is not None:
            self.discriminator.load_state_dict(state["discriminator"])
        self.optim_g.load_state_dict(state["optim_g"])
        if self.optim_d is not None and state.get("optim_d") is not None:
            self.optim_d.load_state_dict(state["optim_d"])
        if state.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        self.elapsed_before = float(state.get("elapsed_s", 0.0))
        self.cpu_before = float(state.get("cpu_s", 0.0))
        if int(state.get("world_size", 1)) == self.dist.world_size:
            set_rng_state(state["rng"])
            self.batches.load_state_dict(state["samplers"])
            self._pool_state = state.get("pool")
        else:  # another process count: fresh streams, offset so earlier batches are not repeated
            self.progress.log("resuming with a different number of processes: data order restarts")

    def save_checkpoint(self) -> Path | None:
        """Write ``run_dir/checkpoint.pt`` atomically (rank 0 only); emits a ``checkpoint`` event."""
        if not self.dist.is_main:
            return None
        path = save_checkpoint(self.run_dir / CHECKPOINT_NAME, self.state_dict())
        write_summary(self.run_dir, arch=self.arch, step=self.step, data=str(self.config.data), saved=time.time())
        self.progress.emit("checkpoint", step=self.step, path=str(path))
        return path

    # ------------------------------------------------------------------ one step

    def autocast(self) -> contextlib.AbstractContextManager:
        """The run's autocast for a step's forward passes (none in float32)."""
        return autocast_context(self.amp_dtype, self.device.type)

    def next_batch(self) -> TrainingBatch:
        """The next batch on the device, its holes pre-filled with the run's input fill: from the pool when the run
        uses one, else fresh crops and holes."""
        if self.pool is not None:
            with self.part("data"):
                batch = self.pool.next()
        else:
            with self.part("data"):
                images, holes = self.batches.next()
            with self.part("input fill"):
                batch = TrainingBatch(images, holes, input_fill(self.config.input_fill, images, holes))
        fmt = self.memory_format
        return TrainingBatch(batch.images.contiguous(memory_format=fmt), batch.holes.contiguous(memory_format=fmt),
                             None if batch.fill is None else batch.fill.contiguous(memory_format=fmt))

    def _set_lr(self) -> None:
        lr = self.config.lr_at(self.step, self.base_lr)
        for opt in (self.optim_g, self.optim_d):
            if opt is not None:
                for group in opt.param_groups:
                    group["lr"] = lr

    @contextlib.contextmanager
    def part(self, name: str):
        """Add the wall time of the block to ``part_times[name]`` (seconds) when ``part_times`` is a dict
        (benchmarks); GPU work is synchronised around it then. A no-op otherwise."""
        if self.part_times is None:
            yield
            return
        if self.cuda:
            torch.cuda.synchronize(self.device)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            if self.cuda:
                torch.cuda.synchronize(self.device)
            self.part_times[name] = self.part_times.get(name, 0.0) + time.perf_counter() - t0

    def backward_step(
        self, loss: Tensor, optimizer: torch.optim.Optimizer, module: nn.Module, average: bool = False
    ) -> None:
        """Backward, optional gradient averaging across processes (modules not wrapped in DDP), clip, step."""
        optimizer.zero_grad(set_to_none=True)
        with self.part("backward"):
            self.scaler.scale(loss).backward()
        with self.part("optimiser"):
            if average and self.dist.enabled:
                average_gradients(module, self.dist.world_size)
            if self.config.clip_grad is not None:
                self.scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(module.parameters(), self.config.clip_grad)
            self.scaler.step(optimizer)

    def train_step(self, batch: TrainingBatch) -> dict[str, Tensor]:
        """One optimisation step on a batch (the architecture's recipe); returns detached loss tensors (not yet
        read back)."""
        self._set_lr()
        self.context.step = self.step
        result = self.recipe.step(self.context, batch)
        self.last_preview = result.preview
        self.scaler.update()
        self.step += 1
        return result.losses

    # ------------------------------------------------------------------ the run

    def _cpu_elapsed(self) -> float:
        """CPU seconds of this process (all threads) since the run (re)started; a paused process adds none."""
        return time.process_time() - self._cpu_t0 if hasattr(self, "_cpu_t0") else 0.0

    def _elapsed(self) -> float:
        return time.perf_counter() - self._t0 if hasattr(self, "_t0") else 0.0

    def _should_stop(self, signals: StopSignals, steps: int | None) -> str | None:
        """Reason to stop now ("steps", "minutes", "SIGTERM", "SIGINT") or None; agreed by all ranks. The time budget
        stops the run once the next step would not fit, but never before the timing steps and the estimate."""
        reason = None
        left = self.budget.training_left_s()  # None without a time budget
        if steps is not None and self.step >= steps:
            reason = "steps"
        elif left is not None and self._estimated and left < self._step_s:
            reason = "minutes"
        if signals.reason is not None:
            reason = signals.reason
        if not self.dist.enabled:
            return reason
        codes = ["steps", "minutes", "SIGTERM", "SIGINT"]
        flag = torch.tensor([codes.index(reason) + 1 if reason else 0], device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        value = int(flag.item())
        return codes[value - 1] if value else None

    def run(self) -> TrainResult:
        """Train, checkpoint, evaluate and export; returns what happened (never raises for SIGTERM/Ctrl+C)."""
        try:
            with StopSignals() as signals:
                return self._run(signals)
        finally:
            if hasattr(self, "batches"):
                self.batches.close()

    def _run(self, signals: StopSignals) -> TrainResult:
        if not self._setup_done:
            self.setup()
        cfg = self.config
        steps = cfg.resolved_steps()
        if self.base_note:
            self.progress.log(self.base_note)
        if self.resume_state is not None and ((self.resume_state.get("finished") and not self._new_limit)
                                              or (steps is not None and self.step >= steps)):
            return self._already_finished()
        self._build_pool()
        self._prepare_scoring()
        self.progress.emit(
            "start", model=self.arch, name=self.run_name, device=str(self.device), steps=steps,
            minutes=cfg.minutes, scoring_s=self.budget.scoring_s, batch=self.batch,
            world_size=self.dist.world_size, photos=len(self.cache), held_out=len(self.split.held_out),
            skipped=len(self.cache.skipped), run_dir=str(self.run_dir), resumed_from=self.step,
            prefilled_samples=len(self.pool) if self.pool is not None else 0,
        )
        self._phase("training", 0, 0)
        self._session_start_step = self.step
        self._t0 = session_t0 = time.perf_counter()
        self._cpu_t0 = time.process_time()
        result = TrainResult(status="done", step=self.step)
        sums: dict[str, Tensor] = {}
        count = 0
        window_t0, window_step = session_t0, self.step
        rate = 0.0
        self.last_preview = None
        checkpoint_step = -1
        reason = self._should_stop(signals, steps)
        while reason is None:
            step_t0 = time.perf_counter()
            losses = self.train_step(self.next_batch())
            for k, v in losses.items():
                sums[k] = sums[k] + v if k in sums else v.clone()
            count += 1
            session_steps = self.step - self._session_start_step
            if self.cuda and session_steps <= TIMING_STEPS:
                torch.cuda.synchronize(self.device)  # the timed steps must be finished to be timed
            self._time_step(time.perf_counter() - step_t0, session_steps)
            left = self.budget.training_left_s()
            if not self._estimated and (session_steps == TIMING_STEPS or (left is not None and left < self._step_s)):
                self._estimate(steps)  # early when the next timing step would not fit
            at_report = self.step % self.report_every == 0 or (steps is not None and self.step >= steps)
            if at_report:
                now = time.perf_counter()
                means = {k: float(v.item()) / count for k, v in sums.items()}
                sums, count = {}, 0
                rate = (self.step - window_step) * self.batch * self.dist.world_size / max(now - window_t0, 1e-9)
                window_t0, window_step = now, self.step
                result.last_losses = means
                result.loss_history.append({"step": self.step, **means})
                eta = self._eta(steps)
                self.progress.emit(
                    "step", step=self.step, steps=steps, steps_expected=self._steps_expected(steps), losses=means,
                    lr=cfg.lr_at(self.step - 1, self.base_lr), images_per_s=rate, eta_s=eta,
                    time_left_s=self._time_left(eta),
                )
            if cfg.preview_every and self.step % cfg.preview_every == 0:
                self._write_preview()
            # all ranks reach the same report steps, so the collective stop check never deadlocks
            if at_report or not self.dist.enabled:
                reason = self._should_stop(signals, steps)
            timed = session_steps == TIMING_STEPS and self.budget.seconds is not None and reason is None
            if self.step % cfg.checkpoint_every == 0 or timed:
                t0 = time.perf_counter()
                result.checkpoint = self.save_checkpoint()
                checkpoint_step = self.step
                # time kept for the final checkpoint and the export (a part of a checkpoint)
                self.budget.end_s = max(self.budget.end_s, 2 * (time.perf_counter() - t0))
        result.step = self.step
        self.finished = reason in ("steps", "minutes")
        if checkpoint_step != self.step or self.finished:
            result.checkpoint = self.save_checkpoint()
        if reason in EXIT_STOPPED:
            result.status = "stopped"
            result.exit_code = EXIT_STOPPED[reason]
            self.progress.emit("stopped", step=self.step, reason=reason,
                               checkpoint=str(result.checkpoint) if result.checkpoint else None,
                               run_dir=str(self.run_dir), run_bytes=folder_bytes(self.run_dir))
            self._barrier()
            return result
        if cfg.preview_every and self.step % cfg.preview_every != 0:
            self._write_preview()
        self._barrier()
        if self.dist.is_main:
            self._finish(result, time.perf_counter() - session_t0)
        self._barrier()
        return result

    def _barrier(self) -> None:
        if self.dist.enabled:
            dist.barrier()

    def _phase(self, name: str, done: int, total: int) -> None:
        """A ``phase`` event ("reading" photos, "pre-filling" the pool's samples, "training", "scoring" pairs) with
        its progress: at most twice a second within a phase, and always a phase's first event and the last."""
        now = time.perf_counter()
        if name == self._phase_name and 0 < done < total and now - self._phase_t < 0.5:
            return
        self._phase_t, self._phase_name = now, name
        message = {"reading": f"Reading photos: {done} of {total}...",
                   "pre-filling": f"Pre-filling training holes: {done} of {total}...", "training": "Training...",
                   "scoring": f"Scoring before and after: {done} of {total} held-out pairs..."}[name]
        self.progress.emit("phase", name=name, done=done, total=total, message=message)

    def _time_step(self, seconds: float, session_steps: int) -> None:
        """Update ``_step_s``, the expected seconds of a step: the latest step's time, then a moving average; the
        first step of a session (one-off costs, compiling) counts only until a second is timed."""
        if session_steps <= TIMING_STEPS:
            self._step_s = seconds
        else:
            self._step_s = 0.8 * self._step_s + 0.2 * seconds

    def _steps_expected(self, steps: int | None) -> int | None:
        """The step the run is expected to stop at: the step limit or what the time budget buys, whichever first."""
        affordable = self.budget.affordable_steps(self._step_s)
        if affordable is None:
            return steps
        expected = self.step + affordable
        return expected if steps is None else min(steps, expected)

    def _estimate(self, steps: int | None) -> None:
        """Emit the steps the run is expected to reach (``estimate``); ConfigError, with nothing trained, kept or
        exported, when the time budget buys fewer than `MIN_USEFUL_STEPS` (or than the steps asked for)."""
        self._estimated = True
        expected = self._steps_expected(steps)
        wanted = min(MIN_USEFUL_STEPS, steps - self._session_start_step) if steps is not None else MIN_USEFUL_STEPS
        # with a time budget the steps it buys are known (expected is None only without a budget and a step limit)
        enough = self.budget.seconds is None or (expected is not None and expected - self._session_start_step >= wanted)
        setup_s = self._t0 - self.budget.t0
        needed = None if enough else needed_minutes(setup_s, wanted, self._step_s, self.budget.scoring_s)
        self.progress.emit(
            "estimate", steps_expected=expected, step_s=self._step_s, minimum=MIN_USEFUL_STEPS, enough=enough,
            images_per_s=self.batch * self.dist.world_size / max(self._step_s, 1e-9), needed_minutes=needed,
        )
        if enough:
            return
        assert expected is not None, "a time budget buys a known number of steps"
        if not self._run_dir_existed and self.dist.is_main:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        raise ConfigError(
            f"a {self.config.minutes:g}-minute budget buys about {expected - self._session_start_step} training "
            f"steps on this machine ({self._step_s:.1f} s each, after {setup_s:.0f} s of reading and setting up, with "
            f"{self.budget.scoring_s:.0f} s kept for scoring); a useful run needs at least {wanted}: give "
            f"--minutes {needed} or more. Nothing was trained or exported."
        )

    def _eta(self, steps: int | None) -> float | None:
        """Seconds of training left: the steps left at the current pace, or the budget's training time left."""
        candidates = []
        if steps is not None:
            candidates.append(max(0, steps - self.step) * self._step_s)
        left = self.budget.training_left_s()
        if left is not None:
            candidates.append(max(0.0, left))
        return min(candidates) if candidates else None

    def _time_left(self, eta: float | None) -> float | None:
        """Seconds left of the whole run: training, scoring and export."""
        if eta is None:
            return None
        return eta + self.budget.scoring_s + self.budget.end_s

    def _prepare_scoring(self) -> None:
        """Plan the before/after scoring (`trainer.before_after.plan_scoring`), which keeps its time in the budget."""
        self.scoring = plan_scoring(
            self._held_out, self.config, self.recipe, self.budget, unwrap(self.generator), self.device,
            base=lambda: (self.build_base_generator(), self._base_description()),
        )

    def _already_finished(self) -> TrainResult:
        """A resumed run that has nothing left to train: say so, export nothing."""
        summary = (f"the run {self.run_name} is finished (step {self.step}): nothing to train or export; give "
                   "--steps or --minutes to train it further")
        self.progress.log(summary)
        self.progress.emit("done", model_name=None, weights=None, card=None, before=None, after=None, helped=None,
                           summary=summary, steps=self.step, time_s=0.0, run_dir=str(self.run_dir),
                           run_bytes=folder_bytes(self.run_dir), finished=True)
        return TrainResult(status="done", step=self.step, summary=summary)

    # ------------------------------------------------------------------ preview, evaluation, export

    def _write_preview(self) -> None:
        if not self.dist.is_main or self.last_preview is None:
            return
        path = write_preview(self.last_preview, self.run_dir, self.step)
        self.progress.emit("preview", step=self.step, path=str(path))

    def _finish(self, result: TrainResult, time_s: float) -> None:
        cfg = self.config
        generator = unwrap(self.generator)
        if self.scoring.pairs:
            deadline = self.budget.deadline(keep_s=self.budget.end_s / 2)  # the final checkpoint is written
            self._phase("scoring", 0, len(self.scoring.pairs))  # shown at once, even when no pair fits the time left
            report = score_before_after(self.scoring, generator, cfg, self.device, deadline,
                                        progress=lambda done, total: self._phase("scoring", done, total))
            result.before, result.after = report["before"], report["after"]
            result.helped, result.summary = judge(report["before"], report["after"], report["photos"])
            self.progress.emit("evaluation", photos=report["photos"], pairs=report["samples"],
                               pairs_offered=report["pairs"], before=result.before, after=result.after,
                               helped=result.helped, summary=result.summary)
        elif not cfg.evaluate:
            result.summary = "evaluation skipped (--no-evaluate): no before/after figures"
        else:
            result.summary = "no held-out photos (the folder is too small): fine-tuning was not evaluated"
            self.progress.log(result.summary)
        self.recipe.set_train_mode(generator, cfg.train_part)
        keep = result.helped is not False or cfg.keep_unhelpful
        if self.export and not keep:
            self.progress.log("the model was not exported: fine-tuning did not help (--keep-unhelpful keeps such "
                              "a model)")
        if self.export and keep:
            card = fine_tuned_card(
                cfg, run_name=self.run_name, base_model=self._base_description(),
                before_model=self.scoring.before_label, photo_count=len(self.cache),
                held_out_count=len(self.split.held_out), skipped_count=len(self.cache.skipped), steps=self.step,
                batch=self.batch, world_size=self.dist.world_size, time_s=self.elapsed_before + time_s,
                device=self.device, amp_dtype=self.amp_dtype, before=result.before, after=result.after,
                helped=result.helped, summary=result.summary,
            )
            result.model_name, result.weights, result.card = export_fine_tuned(
                generator, card, run_name=self.run_name, arch=self.arch, log=self.progress.log
            )
        self.progress.emit(
            "done", model_name=result.model_name, weights=str(result.weights) if result.weights else None,
            card=str(result.card) if result.card else None, before=result.before, after=result.after,
            helped=result.helped, summary=result.summary, steps=self.step, time_s=time_s,
            run_dir=str(self.run_dir), run_bytes=folder_bytes(self.run_dir),
        )

    def _base_description(self) -> str:
        init = self.config.init
        if init == INIT_RANDOM or (init == INIT_DEFAULT and "random" in self.base_note):
            return f"{self.arch} (random initialisation)"
        if init == INIT_DEFAULT:
            return self.arch
        return str(Path(init).expanduser().resolve())


def _merge_resume_config(saved: TrainConfig, overrides: dict | None) -> TrainConfig:
    """The saved config with ``overrides`` (run length and machine settings) applied.

    Giving ``steps`` or ``minutes`` replaces both limits of the saved run.
    """
    overrides = {k: v for k, v in (overrides or {}).items() if k in RESUME_OVERRIDES}
    if "steps" in overrides or "minutes" in overrides:
        saved.steps = overrides.pop("steps", None)
        saved.minutes = overrides.pop("minutes", None)
    for key, value in overrides.items():
        setattr(saved, key, value)
    return saved


def _import_dynamo_without_its_cache() -> None:
    """Import ``torch._dynamo`` (torch.optim does) without leaving its compile cache (TEMP/torchinductor_USER)
    behind: importing it creates that folder, which only a compiled run uses."""
    import os
    import tempfile

    if "torch._dynamo" in sys.modules or "TORCHINDUCTOR_CACHE_DIR" in os.environ:
        return
    with tempfile.TemporaryDirectory(prefix="fusionpaint-") as scratch:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = scratch
        try:
            import torch._dynamo  # noqa: F401
        finally:
            os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)


def _cpu_state(module: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in module.state_dict().items()}


def train(
    config: TrainConfig | None,
    progress: Progress | None = None,
    *,
    resume: str | Path | None = None,
    overrides: dict | None = None,
    export: bool = True,
) -> TrainResult:
    """Run one training process (see :class:`Trainer`); cleans up the process group it created."""
    trainer = Trainer(config, progress, resume=resume, overrides=overrides, export=export)
    created_group = trainer.dist.enabled and not dist.is_initialized()
    try:
        return trainer.run()
    finally:
        if created_group and dist.is_initialized():
            dist.destroy_process_group()
        sys.stdout.flush()
