"""bench/bench_finetune.py: the split by file name, the folders of links and the Markdown tables."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.bench_finetune import keep_models, link_photos, metrics_table, runs_table, split_photos
from trainer.data import list_photos
from trainer.evaluate import TABLE_COLUMNS


def _photos(folder: Path, n: int) -> list[Path]:
    rng = np.random.default_rng(0)
    (folder / "sub").mkdir(parents=True)
    for i in range(n):
        where = folder / "sub" if i % 2 else folder
        Image.fromarray(rng.integers(0, 255, (70, 80, 3), dtype=np.uint8)).save(where / f"p{i:02d}.png")
    return list_photos(folder)


def test_every_third_name_is_held_out_and_at_least_six(tmp_path):
    paths = [tmp_path / f"{i:02d}.jpg" for i in range(30)]
    user, held = split_photos(list(reversed(paths)))
    assert held == paths[::3] and user == [p for p in paths if p not in held]
    user, held = split_photos(paths[:12])
    assert len(held) == 6 and len(user) == 6 and not set(user) & set(held)
    user, held = split_photos(paths, held_out=7)
    assert len(held) == 7 and held[0] == paths[0] and len(user) == 23


@pytest.mark.parametrize(("n", "held_out"), [(11, None), (30, 5), (12, 7)])
def test_a_split_too_small_is_refused(tmp_path, n, held_out):
    with pytest.raises(ValueError, match="at least 6|fewer than 6"):
        split_photos([tmp_path / f"{i}.png" for i in range(n)], held_out)


def test_the_photos_are_linked_in_place_not_copied(tmp_path):
    root = tmp_path / "photos"
    paths = _photos(root, 4)
    folder = link_photos(paths, root, tmp_path / "links")
    links = list_photos(folder)
    assert len(links) == 4 and all(link.is_symlink() for link in links)
    assert sorted(link.resolve() for link in links) == sorted(p.resolve() for p in paths)
    assert (folder / "sub__p01.png").resolve() == (root / "sub" / "p01.png").resolve()


def test_tables_have_a_row_per_budget_and_per_bin_and_model():
    runs = [
        {"minutes": 10.0, "arm": "", "train_args": "", "wall_s": 590.0, "within_budget": True, "steps": 40,
         "images_per_s": 0.15, "prefilled_samples": 88, "verdict": "Fine-tuning helped: hole L1 9.00% -> 8.00%",
         "exit_code": 0, "error": None},
        {"minutes": 0.5, "arm": "hole", "train_args": "--style-region hole", "wall_s": 20.0, "within_budget": True,
         "steps": None, "images_per_s": None, "verdict": None, "exit_code": 2,
         "error": "a 0.5-minute budget buys about 2 training steps"},
    ]
    text = runs_table(runs)
    assert "| 10 min | defaults | 9.8 min | yes | 40 | 0.15 | 88 | Fine-tuning helped" in text
    assert ("| 0.5 min | hole: `--style-region hole` | 0.3 min | yes | - | - | 0 | failed (exit 2): a 0.5-minute "
            "budget") in text
    row = {"count": 2, **{key: 0.5 for key, _ in TABLE_COLUMNS}, "psnr": None}
    report = {"bins": {"03-08": 2}, "models": {m: {"bins": {"03-08": row}, "all": row} for m in ("a", "b")}}
    lines = metrics_table(report).splitlines()
    assert len(lines) == 2 + 4 and lines[2].startswith("| 03-08 % | a | 2 | 0.50 | - | 0.5000 |")
    assert lines[-1].startswith("| all | b | 2 |") and lines[-1].count("|") == len(TABLE_COLUMNS) + 4


def test_keep_models_copies_each_exported_model_with_its_card(tmp_path):
    exported = tmp_path / "models"
    exported.mkdir()
    (exported / "bench-10min.safetensors").write_bytes(b"weights")
    (exported / "bench-10min.json").write_text("{}")
    runs = [{"weights": str(exported / "bench-10min.safetensors")}, {"weights": None}]
    keep_models(runs, tmp_path / "kept")
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["bench-10min.json", "bench-10min.safetensors"]
    assert (tmp_path / "kept" / "bench-10min.safetensors").read_bytes() == b"weights"
