"""The training loop: fine-tune (or train from scratch) DFNet or DMFN on a folder of photos.

One :class:`Trainer` runs one process of a run. Under ``torchrun --nproc_per_node N`` each process trains on
its own photo/mask streams and DistributedDataParallel averages the gradients (NCCL on GPUs, gloo on the CPU);
only rank 0 writes checkpoints, previews, progress and the exported model.

Precision (`resolve_amp_dtype`): on CUDA autocast with bfloat16 where supported (else float16 with a gradient
scaler), TF32 matmuls, channels_last tensors and fused Adam; on the CPU bf16 autocast where the CPU has native bf16
instructions, else float32. Losses are read back from the GPU only every ``report_every`` steps so the GPU queue
never drains for a progress line.

Stopping: after ``steps`` steps or ``minutes`` minutes, whichever comes first. ``minutes`` is the whole run's
wall-clock budget, from the Trainer's creation (reading the photos included) to the end of scoring: training stops
early enough for the held-out scoring, whose time is estimated by scoring one held-out photo before training
(:meth:`Trainer.scoring_estimate_s`); at least one step is always trained. SIGTERM or Ctrl+C (SIGINT) stop
at the next step boundary after writing a checkpoint (a second Ctrl+C aborts at once). Every
``checkpoint_every`` steps and at the end the run folder's ``checkpoint.pt`` is replaced atomically.

At the end the base and the fine-tuned generator are compared on the held-out photos (fixed seeded masks,
hard composite: known pixels from the photo, hole pixels from the network) with engine.metrics, per
hole-ratio bin, and the generator is exported as ``NAME.safetensors`` + ``NAME.json`` into the user's
models folder.
"""

from __future__ import annotations

import contextlib
import math
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn

from engine.device import cpu_bf16_faster, describe_device, resolve_device
from engine.errors import FusionPaintError
from engine.imageio import save_image
from engine.model_spec import ModelSpec, registered_specs
from engine.paths import user_runs_dir
from engine.registry import build_network, get_spec
from engine.weights import load_into, load_weights
from trainer.arches import recipe_for
from trainer.checkpoint import (
    load_checkpoint,
    resolve_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from trainer.config import INIT_DEFAULT, INIT_RANDOM, MIN_PHOTO_SIDE, NAME_RE, ConfigError, TrainConfig
from trainer.data import BatchSampler, BatchSource, PhotoCache, split_folder
from trainer.distributed import DistInfo, average_gradients, dist_info_from_env, unwrap
from trainer.evaluate import evaluate_generators, judge
from trainer.masks import FolderMaskSampler, MaskSampler
from trainer.progress import Progress
from trainer.runs import CHECKPOINT_NAME, write_summary

RESUME_OVERRIDES = ("steps", "minutes", "device", "checkpoint_every", "preview_every", "workers", "evaluate",
                    "clip_grad", "compile")
"""Settings a resumed run may change; everything else comes from the checkpoint."""
EXIT_STOPPED = {"SIGINT": 130, "SIGTERM": 143}
"""Process exit codes of a run stopped by a signal (after its checkpoint was written)."""


# ----------------------------------------------------------------------------------------------- stopping


class _StopSignals:
    """SIGTERM / SIGINT set ``reason`` instead of killing the process; a second SIGINT raises KeyboardInterrupt."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._previous: dict[int, object] = {}

    def _handler(self, signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        if name == "SIGINT" and self.reason == "SIGINT":
            raise KeyboardInterrupt
        self.reason = self.reason or name

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


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
    ) -> None:
        self._budget_t0 = time.perf_counter()  # ``minutes`` counts from here: reading photos and scoring included
        self._scoring_reserve_s = 0.0
        self.dist = dist_info or dist_info_from_env()
        self.progress = progress or Progress(enabled=False)
        if not self.dist.is_main:
            self.progress = Progress(enabled=False)
        self.resume_state: dict | None = None
        if resume is not None:
            self.resume_state = load_checkpoint(resume)
            config = _merge_resume_config(TrainConfig.from_dict(self.resume_state["config"]), overrides)
            # the run continues in the folder it was resumed from, never where the checkpoint's text points
            config.run_dir = str(resolve_checkpoint(resume).parent)
        if config is None:
            raise ConfigError("a training run needs a configuration or a checkpoint to resume")
        self.config = config.validate()
        self.export = export
        self._report_every = report_every
        self.step = 0
        self.elapsed_before = 0.0
        self.cpu_before = 0.0
        self._setup_done = False
        self.part_times: dict[str, float] | None = None
        """Seconds per part of the step ("generator forward", "backward", ...) when set to a dict (benchmarks)."""

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
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self.amp_dtype = resolve_amp_dtype(cfg.precision, dev)
        self.report_every = self._report_every or (10 if self.cuda else 1)
        self.batch = cfg.resolved_batch(dev.type)
        self.arch = cfg.arch
        self.recipe = recipe_for(self.arch)
        self.run_name = self._run_name()
        self.run_dir = Path(cfg.run_dir) if cfg.run_dir else user_runs_dir() / self.run_name
        if self.resume_state is None:
            self._refuse_a_kept_run()

        self._setup_data()
        self.base_note = ""
        if cfg.input_fill is None:
            cfg.input_fill = self._base_input_fill()  # fixed from here on (stored in checkpoints)
        generator = self.build_base_generator()
        # channels_last: always on CUDA; on the CPU where the generator runs faster so (DFNet training with bf16
        # autocast: 11 % faster generator and 12 % faster VGG losses on an AVX512-BF16 CPU)
        channels_last = self.cuda or getattr(generator, "channels_last_on_cpu", False)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.generator = generator.to(dev, memory_format=self.memory_format)
        self.generator.train()
        if cfg.compile:
            self.generator.compile()  # in place: parameter names and checkpoints stay as without it
        torch.manual_seed(cfg.seed + 1)
        self.discriminator: nn.Module | None = self.recipe.build_discriminator(dev, self.memory_format)
        lr = cfg.lr_at(0)
        betas = self.recipe.adam_betas
        fused = {"fused": True} if self.cuda else {}
        self.optim_g = torch.optim.Adam(self.generator.parameters(), lr=lr, betas=betas, **fused)
        self.optim_d = (
            torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=betas, **fused)
            if self.discriminator is not None else None
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
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
        if self.resume_state is not None and self.config.run_dir and NAME_RE.match(Path(self.config.run_dir).name):
            return Path(self.config.run_dir).name  # the folder's name: a run renamed by the user keeps its new name
        if self.resume_state is not None and self.resume_state.get("run_name"):
            name = self.resume_state["run_name"]
            if not isinstance(name, str) or not NAME_RE.match(name):
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
            self.cache = PhotoCache.decode(
                self.split.train, min_side=MIN_PHOTO_SIDE, max_side=2 * cfg.size, log=self.progress.log
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        seed = cfg.seed + 1000 * self.dist.rank
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
        self.batches = BatchSource(photos, masks, prefetch=cfg.resolved_workers(self.device.type))

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
            spec = get_spec(self.arch if init == INIT_DEFAULT else Path(init).expanduser())
        except FusionPaintError as exc:
            raise ConfigError(str(exc)) from exc
        return spec.input_fill or "zeros"

    def build_base_generator(self) -> nn.Module:
        """The generator the run starts from (CPU, float32): ``init`` weights, or seeded random initialisation."""
        cfg = self.config
        torch.manual_seed(cfg.seed)
        net = build_network(self.arch)
        path: Path | None = None
        if cfg.init == INIT_DEFAULT:
            spec = get_spec(self.arch)
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
            self.recipe.start_random(net, cfg.input_fill)
            if cfg.init == INIT_RANDOM:
                self.base_note = "training from random initialisation (--init random)"
        return net

    def _build_losses(self) -> None:
        from trainer.vgg import VGG19Features

        self.vgg = VGG19Features(self.recipe.vgg_layers).to(self.device, memory_format=self.memory_format).eval()

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
            "world_size": self.dist.world_size,
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
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def next_batch(self) -> tuple[Tensor, Tensor]:
        """(images (B,3,S,S) RGB [0,1], holes (B,1,S,S) 1 = hole) on the device."""
        with self.part("data"):
            images, holes = self.batches.next()
            return (images.contiguous(memory_format=self.memory_format),
                    holes.contiguous(memory_format=self.memory_format))

    def _set_lr(self) -> None:
        lr = self.config.lr_at(self.step)
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

    def train_step(self, images: Tensor, holes: Tensor) -> dict[str, Tensor]:
        """One optimisation step on a batch (the architecture's recipe); returns detached loss tensors (not yet
        read back)."""
        self._set_lr()
        out = self.recipe.step(self, images, holes)
        self.scaler.update()
        self.step += 1
        return out

    # ------------------------------------------------------------------ the run

    def _cpu_elapsed(self) -> float:
        """CPU seconds of this process (all threads) since the run (re)started; a paused process adds none."""
        return time.process_time() - self._cpu_t0 if hasattr(self, "_cpu_t0") else 0.0

    def _elapsed(self) -> float:
        return time.perf_counter() - self._t0 if hasattr(self, "_t0") else 0.0

    def _should_stop(self, signals: _StopSignals, steps: int | None) -> str | None:
        """Reason to stop now ("steps", "minutes", "SIGTERM", "SIGINT") or None; agreed by all ranks."""
        cfg = self.config
        reason = None
        if steps is not None and self.step >= steps:
            reason = "steps"
        elif cfg.minutes is not None and self.step > self._session_start_step and self._budget_left_s() <= 0:
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
            with _StopSignals() as signals:
                return self._run(signals)
        finally:
            if hasattr(self, "batches"):
                self.batches.close()

    def _run(self, signals: _StopSignals) -> TrainResult:
        if not self._setup_done:
            self.setup()
        cfg = self.config
        steps = cfg.resolved_steps()
        if self.base_note:
            self.progress.log(self.base_note)
        if cfg.minutes is not None:
            self._scoring_reserve_s = self.scoring_estimate_s()
        self.progress.emit(
            "start", model=self.arch, name=self.run_name, device=str(self.device), steps=steps,
            minutes=cfg.minutes, scoring_s=self._scoring_reserve_s, batch=self.batch,
            world_size=self.dist.world_size, photos=len(self.cache), held_out=len(self.split.held_out),
            skipped=len(self.cache.skipped), run_dir=str(self.run_dir), resumed_from=self.step,
        )
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
            images, holes = self.next_batch()
            losses = self.train_step(images, holes)
            for k, v in losses.items():
                sums[k] = sums[k] + v if k in sums else v.clone()
            count += 1
            at_report = self.step % self.report_every == 0 or (steps is not None and self.step >= steps)
            if at_report:
                now = time.perf_counter()
                means = {k: float(v.item()) / count for k, v in sums.items()}
                sums, count = {}, 0
                rate = (self.step - window_step) * self.batch * self.dist.world_size / max(now - window_t0, 1e-9)
                window_t0, window_step = now, self.step
                result.last_losses = means
                result.loss_history.append({"step": self.step, **means})
                self.progress.emit(
                    "step", step=self.step, steps=steps, losses=means, lr=cfg.lr_at(self.step - 1),
                    images_per_s=rate, eta_s=self._eta(steps, rate),
                )
            if cfg.preview_every and self.step % cfg.preview_every == 0:
                self._write_preview()
            if self.step % cfg.checkpoint_every == 0:
                result.checkpoint = self.save_checkpoint()
                checkpoint_step = self.step
            # all ranks reach the same report steps, so the collective stop check never deadlocks
            if at_report or not self.dist.enabled:
                reason = self._should_stop(signals, steps)
        result.step = self.step
        if checkpoint_step != self.step:
            result.checkpoint = self.save_checkpoint()
        if reason in EXIT_STOPPED:
            result.status = "stopped"
            result.exit_code = EXIT_STOPPED[reason]
            self.progress.emit("stopped", step=self.step, reason=reason,
                               checkpoint=str(result.checkpoint) if result.checkpoint else None)
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

    def _eta(self, steps: int | None, images_per_s: float) -> float | None:
        candidates = []
        if steps is not None and images_per_s > 0:
            steps_per_s = images_per_s / (self.batch * self.dist.world_size)
            candidates.append(max(0, steps - self.step) / steps_per_s)
        if self.config.minutes is not None:
            candidates.append(max(0.0, self._budget_left_s()))
        return min(candidates) if candidates else None

    def _budget_left_s(self) -> float:
        """Seconds of ``minutes`` left for training: the budget less the time spent and the scoring reserve."""
        spent = time.perf_counter() - self._budget_t0
        return self.config.minutes * 60 - spent - self._scoring_reserve_s

    def scoring_estimate_s(self) -> float:
        """Seconds the held-out scoring at the end will take, measured by scoring the first held-out photo with
        the generator as it is now and with the "before" model (0 without scoring), times the held-out photos. A
        "before" network costs what the generator does; a classical "before" (PatchMatch takes seconds) is timed."""
        cfg = self.config
        if not (cfg.evaluate and self.split.held_out and self.dist.is_main):
            return 0.0

        def seconds(model) -> float:
            t0 = time.perf_counter()
            evaluate_generators({"model": model}, self.arch, self.split.held_out[:1], size=cfg.size,
                                device=self.device, masks_per_photo=cfg.eval_masks_per_photo, fill=cfg.input_fill)
            return time.perf_counter() - t0

        generator = unwrap(self.generator)
        after = seconds(generator)
        generator.train()
        classical = self._classical_before()
        before = after if classical is None else seconds(classical)
        return (after + before) * len(self.split.held_out)

    # ------------------------------------------------------------------ preview, evaluation, export

    def _write_preview(self) -> None:
        if not self.dist.is_main or self.last_preview is None:
            return
        images, holes, result, alpha = (t.detach().float().cpu() for t in self.last_preview)
        grid = preview_grid(images, holes, result, alpha)
        path = self.run_dir / "previews" / f"step_{self.step:07d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(path, grid)
        self.progress.emit("preview", step=self.step, path=str(path))

    def _finish(self, result: TrainResult, time_s: float) -> None:
        cfg = self.config
        generator = unwrap(self.generator)
        if cfg.evaluate and self.split.held_out:
            before_model, before_label = self._before_model()
            self.progress.emit("phase", name="scoring", message=(
                f"Scoring before and after on {len(self.split.held_out)} held-out photos..."))
            report = evaluate_generators(
                {"before": before_model, "after": generator}, self.arch, self.split.held_out, size=cfg.size,
                device=self.device, masks_per_photo=cfg.eval_masks_per_photo, fill=cfg.input_fill,
            )
            result.before, result.after = report["before"], report["after"]
            result.helped, result.summary = judge(report["before"], report["after"], report["photos"])
            self.progress.emit("evaluation", photos=report["photos"], before=result.before, after=result.after,
                               helped=result.helped, summary=result.summary)
        elif not cfg.evaluate:
            result.summary = "evaluation skipped (--no-evaluate): no before/after figures"
        else:
            result.summary = "no held-out photos (the folder is too small): fine-tuning was not evaluated"
            self.progress.log(result.summary)
        generator.train()
        if self.export:
            from trainer.export import export_model, free_model_name

            card = {
                "title": f"{self.run_name} (fine-tuned {self.arch})",
                "base_model": self._base_description(),
                "before_model": before_label if cfg.evaluate and self.split.held_out else None,
                "data": str(Path(cfg.data).expanduser().resolve()),
                "photo_count": len(self.cache),
                "held_out_count": len(self.split.held_out),
                "skipped_count": len(self.cache.skipped),
                "steps": self.step,
                "batch": self.batch,
                "world_size": self.dist.world_size,
                "size": cfg.size,
                "time_s": round(self.elapsed_before + time_s, 1),
                "device": describe_device(self.device),
                "precision": str(self.amp_dtype).replace("torch.", "") if self.amp_dtype else "float32",
                "metrics_before": result.before,
                "metrics_after": result.after,
                "helped": result.helped,
                "summary": result.summary,
                "license": "fine-tuned by the user; inherits the license of the base weights",
                "input_fill": cfg.input_fill,
                "config": cfg.to_dict(),
            }
            name = free_model_name(self.run_name)
            if name != self.run_name:
                self.progress.log(f"a model named {self.run_name} exists already: exported as {name}")
            result.weights, result.card = export_model(
                generator.state_dict(), name=name, arch=self.arch, card=_finite(card)
            )
            result.model_name = name
        self.progress.emit(
            "done", model_name=result.model_name, weights=str(result.weights) if result.weights else None,
            card=str(result.card) if result.card else None, before=result.before, after=result.after,
            helped=result.helped, summary=result.summary, steps=self.step, time_s=time_s,
        )

    def _before_model(self) -> tuple[nn.Module | ModelSpec, str]:
        """(model, description) of what "before" measures: the weights the run started from; for a run from random
        initialisation (a random network is no baseline), the best classical fill (its spec)."""
        classical = self._classical_before()
        if classical is not None:
            label = f"{classical.name} (the best classical fill; training started from random initialisation)"
            return classical, label
        return self.build_base_generator(), self._base_description()

    def _classical_before(self) -> ModelSpec | None:
        """The best-ranked classical fill when "before" is one (a run from random initialisation), else None."""
        from_scratch = self.config.init == INIT_RANDOM or (
            self.config.init == INIT_DEFAULT and not get_spec(self.arch).has_weights)
        return next(spec for spec in registered_specs() if spec.kind == "classical") if from_scratch else None

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


def _cpu_state(module: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in module.state_dict().items()}


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


# ----------------------------------------------------------------------------------------------- previews


def preview_grid(images: Tensor, holes: Tensor, result: Tensor, alpha: Tensor, max_rows: int = 4) -> np.ndarray:
    """uint8 (rows*S, 4*S, 3) RGB: per sample input (hole grey) | result | alpha (DMFN: the hole) | ground truth.

    images, result, alpha: (N,3,S,S) in [0,1]; holes (N,1,S,S) 1 = hole.
    """
    n = min(max_rows, images.shape[0])
    grey = torch.full_like(images[:n], 0.5)
    hole = holes[:n].expand(-1, 3, -1, -1)
    shown_input = torch.where(hole > 0.5, grey, images[:n])
    cols = [shown_input, result[:n], alpha[:n], images[:n]]
    rows = torch.cat([torch.cat([c[i] for c in cols], dim=2) for i in range(n)], dim=1)
    return (rows.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)


# ----------------------------------------------------------------------------------------------- evaluation


def resolve_amp_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype for a `trainer.config.PRECISIONS` setting on ``device``; None = float32.

    "auto": bf16 on CUDA where supported, else fp16; on the CPU bf16 where it trains faster than float32
    (`engine.device.cpu_bf16_faster`), else float32.
    """
    if precision == "bf16":
        return torch.bfloat16
    if precision != "auto":
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_bf16_faster():
        return torch.bfloat16
    return None


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
