"""Settings a run leaves unset take its network's own default (the recipe's options), stored in the config."""

from dataclasses import fields

import pytest

from tests.helpers import write_photo_folder
from trainer.arches import recipe_for, trainable_arches
from trainer.config import TrainConfig
from trainer.loop import Trainer


@pytest.mark.parametrize("arch", trainable_arches())
def test_unset_settings_take_the_networks_defaults_and_given_ones_win(tmp_path, arch):
    recipe = recipe_for(arch)
    defaults = recipe.options_type()
    size = 256 if arch == "dfnet" else 128
    photos = str(write_photo_folder(tmp_path / "photos"))
    plain = Trainer(TrainConfig(arch=arch, data=photos, init="random", size=size, batch=2, device="cpu",
                                evaluate=False, run_dir=str(tmp_path / "plain")), export=False)
    plain.setup()
    for f in fields(defaults):
        if f.name != "input_fill":
            assert getattr(plain.config, f.name) == getattr(defaults, f.name), f.name
    assert plain.options == defaults
    given = Trainer(TrainConfig(arch=arch, data=photos, init="random", size=size, batch=2, device="cpu",
                                evaluate=False, texture_weight=0.25, run_dir=str(tmp_path / "given")), export=False)
    given.setup()
    assert given.options.texture_weight == given.config.texture_weight == 0.25
