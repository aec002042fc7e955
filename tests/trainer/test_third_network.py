"""A third network is its own files: a tiny network registered in the engine, with a training recipe, is listed by
the registries, trained by ``fusionpaint train``, run by the benchmarks and offered by the tools, with no project
file edited. A registered network without a recipe is refused in one line."""

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from engine import model_spec
from engine.registry import builtin_model_names, get_spec, list_models, network_spec
from tests.helpers import write_photo_folder
from trainer import arches
from trainer.arches import Preview, Recipe, RecipeOptions, StepResult, trainable_arches
from trainer.config import TrainConfig
from trainer.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


class TinyNet(nn.Module):
    """Two convolutions: the known pixels (RGB in [0, 1], the hole zeroed) and the hole (1 = hole) in, RGB in
    [0, 1] out."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))

    def forward(self, image, hole, fill=None):
        return torch.sigmoid(self.body(torch.cat([image * (1 - hole), hole], 1)))


TINY = model_spec.NetworkSpec(
    name="tiny", title="Tiny (a test network)", arch="tiny", license="test", training_data="none", native_size=64,
    build=TinyNet, forward=lambda network, image, hole, fill: (network(image, hole, fill), None),
)


@dataclass(frozen=True)
class TinyOptions(RecipeOptions):
    def describe(self) -> str:
        return f"L1 only, fill {self.input_fill}"


class TinyRecipe(Recipe):
    """L1 over the whole image, Adam's default settings, no VGG features and no discriminator."""

    arch = "tiny"
    options_type = TinyOptions

    def step(self, ctx, batch):
        images, holes = batch.images, batch.holes
        with ctx.autocast(), ctx.part("generator forward"):
            completed = ctx.generator(images, holes).float()
        with ctx.part("loss forward"):
            l1 = F.l1_loss(completed, images)
        ctx.backward_step(l1, ctx.optim_g, ctx.generator)
        preview = Preview(images, holes, completed.detach(), holes.expand(-1, 3, -1, -1))
        return StepResult({"l1": l1.detach(), "total": l1.detach()}, preview)

    @torch.no_grad()
    def predict(self, network, image01, hole, fill):
        return network(image01, hole).clamp(0, 1)


@pytest.fixture
def tiny():
    """The tiny network and its recipe, registered for the test."""
    with model_spec.temporarily_registered(TINY), arches.temporarily_registered(TinyRecipe):
        yield


def _script(relative: str, monkeypatch):
    """A benchmark or tool script of the project, imported as a module (its own folder importable, as when run)."""
    path = ROOT / relative
    monkeypatch.syspath_prepend(str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_registries_list_it_only_while_registered(tiny):
    assert network_spec("tiny") is TINY and "tiny" in builtin_model_names()
    assert trainable_arches()[-1] == "tiny" and {"dfnet", "dmfn"} <= set(trainable_arches())
    assert arches.recipe_for("tiny").options(TrainConfig(arch="tiny", data=".")) == TinyOptions("zeros")


def test_afterwards_it_is_gone():
    assert "tiny" not in trainable_arches() and "tiny" not in builtin_model_names()
    with pytest.raises(ConfigError, match="no training recipe for 'tiny'"):
        arches.recipe_for("tiny")


def test_fusionpaint_train_trains_and_exports_it(tiny, tmp_path, capsys):
    from main import main

    photos = write_photo_folder(tmp_path / "photos", n=4, size=64)
    run = tmp_path / "run"
    code = main(["train", "--model", "tiny", "--data", str(photos), "--init", "random", "--size", "64", "--batch",
                 "2", "--steps", "2", "--device", "cpu", "--precision", "fp32", "--no-evaluate", "--preview-every",
                 "1", "--run-dir", str(run), "--name", "tiny-run", "--json-progress"])
    out = capsys.readouterr().out
    assert code == 0, out
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    steps = [event for event in events if event["event"] == "step"]
    assert [event["step"] for event in steps] == [1, 2] and all(event["losses"]["l1"] > 0 for event in steps)
    assert (run / "checkpoint.pt").is_file() and len(list((run / "previews").glob("*.png"))) == 2
    exported = get_spec("tiny-run")
    assert exported.arch == "tiny" and exported.status == "fine-tuned" and "tiny-run" in [s.name for s in list_models()]


def test_a_network_without_a_recipe_is_refused_in_one_line(tmp_path, capsys):
    from main import main

    photos = write_photo_folder(tmp_path / "photos")
    with model_spec.temporarily_registered(TINY):
        code = main(["train", "--model", "tiny", "--data", str(photos), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("error: no training recipe for 'tiny': add trainer/arches/tiny.py")


@pytest.mark.slow
def test_the_training_benchmark_runs_it(tiny, monkeypatch, capsys):
    bench = _script("bench/bench_train.py", monkeypatch)
    assert bench.main(["--models", "tiny", "--devices", "cpu", "--precisions", "fp32", "--sizes", "64", "--batches",
                       "2", "--steps", "1", "--warmup", "0"]) == 0
    out = capsys.readouterr().out
    results = json.loads(out[out.index("\n{") + 1:])["results"]
    assert [(r["model"], r["size"], r["batch"], r["recipe"]) for r in results] == [("tiny", 64, 2, "paper")]
    assert results[0]["images_per_s"] > 0 and results[0]["part_shares"]["generator forward"] > 0


def test_the_engine_benchmark_times_it(tiny, monkeypatch):
    bench = _script("bench/bench_engine.py", monkeypatch)
    rows = bench.bench_latency(torch.device("cpu"), 1, ["tiny"])
    assert {row["size"] for row in rows} == set(bench.SIZES) and all(row["model"] == "tiny" for row in rows)
    assert all(row["median_s"] > 0 and row["target_s"] is None for row in rows)


def test_the_tools_offer_it(tiny, tmp_path, monkeypatch, capsys):
    ship = _script("tools/ship_default.py", monkeypatch)
    assert ship.main(["tiny", "--kept", str(tmp_path / "none.safetensors")]) == 1  # a known network, nothing kept
    assert "not shipped: no kept weights" in capsys.readouterr().err
    row = _script("tools/progress_row.py", monkeypatch)
    config = TrainConfig(arch="tiny", data="x", size=64, precision="fp32", input_fill="zeros")
    assert row._recipe(config, 2) == "batch 2, fp32, 64 px, L1 only, fill zeros"
