import json
import pickle

import pytest
import torch

from engine.errors import ModelUnavailable, WeightsError
from engine.model_spec import (
    FEATHERED_ALPHA,
    HARD_ALPHA,
    ClassicalSpec,
    ModelSpec,
    NetworkSpec,
    temporarily_registered,
)
from engine.paths import user_models_dir
from engine.registry import (
    build_network,
    builtin_model_names,
    default_model_name,
    get_spec,
    list_models,
    load_model,
    network_spec,
    parameter_count,
    trainable_specs,
)
from engine.weights import load_weights, read_arch, save_weights, sha256_of


def test_builtin_models_and_their_specs():
    names = [spec.name for spec in list_models()]
    assert {"dfnet", "dmfn", "patchmatch", "opencv-telea", "opencv-ns"} <= set(names)
    dfnet, dmfn = get_spec("dfnet"), get_spec("dmfn")
    assert (dfnet.size_multiple, dfnet.native_size, dfnet.value_range) == (256, 512, (0.0, 1.0))
    assert dfnet.alpha_learned
    assert (dmfn.native_size, dmfn.value_range, dmfn.alpha_learned) == (256, (-1.0, 1.0), False)
    for spec in list_models():
        assert spec.license and spec.training_data and spec.alpha_meaning


def test_classical_models_are_always_available_and_default_without_weights():
    assert get_spec("opencv-telea").has_weights and get_spec("opencv-ns").status == "built-in"
    if not get_spec("dfnet").has_weights and not get_spec("dmfn").has_weights:
        assert isinstance(get_spec(default_model_name()), ClassicalSpec)


def test_the_default_is_the_usable_model_with_the_best_rank():
    builtin = [get_spec(name) for name in builtin_model_names()]
    assert [spec.rank for spec in builtin] == sorted(spec.rank for spec in builtin)  # listed best first
    assert get_spec(default_model_name()) == next(spec for spec in builtin if spec.has_weights)


@pytest.mark.parametrize("name", ["dfnet", "dmfn"])
def test_shipped_weights_load_and_match_their_sha256(name):
    spec = get_spec(name)
    assert spec.has_weights and spec.sha256 and sha256_of(spec.weights_file) == spec.sha256
    card = spec.weights_file.with_suffix(".md").read_text(encoding="utf-8")
    assert spec.sha256 in card and "non-commercial" in card
    model = load_model(name, device="cpu")  # refuses a file whose sha256 differs from the spec's
    assert model.spec.name == name


def test_dmfn_runs_on_telea_pre_fill_composited_hard():
    spec = get_spec("dmfn")
    assert (spec.input_fill, spec.seam_band_px, spec.cpu_bf16) == ("telea", 0, True)
    assert spec.alpha_meaning == HARD_ALPHA and get_spec("opencv-telea").alpha_meaning == FEATHERED_ALPHA


def test_parameter_counts():
    assert parameter_count(get_spec("dfnet")) == 32_880_504
    assert parameter_count(get_spec("opencv-ns")) == 0


def test_network_without_weights_gives_a_clear_message(monkeypatch, tmp_path):
    from dataclasses import replace

    spec = replace(get_spec("dmfn"), weights_file=tmp_path / "absent.safetensors")
    assert spec.status == "no weights"
    with pytest.raises(ModelUnavailable, match="no weights"):
        load_model(spec)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ModelUnavailable, match="opencv-telea"):
        get_spec("lama")


@pytest.fixture(scope="module")
def dmfn_state():
    torch.manual_seed(0)
    return build_network("dmfn").state_dict()


def test_weights_round_trip_and_arch_metadata(tmp_path, dmfn_state):
    path = save_weights(tmp_path / "m.safetensors", dmfn_state, arch="dmfn", dtype=torch.float16)
    assert read_arch(path) == "dmfn"
    loaded = load_weights(path, expected_sha256=sha256_of(path))
    assert set(loaded) == set(dmfn_state)
    model = load_model(path, device="cpu")
    assert model.spec.arch == "dmfn" and model.spec.weights_file == path


def test_truncated_file_names_the_file(tmp_path, dmfn_state):
    path = save_weights(tmp_path / "cut.safetensors", dmfn_state, arch="dmfn")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="cut.safetensors"):
        load_model(path, device="cpu")


def test_sha256_mismatch_is_refused(tmp_path, dmfn_state):
    path = save_weights(tmp_path / "m.safetensors", dmfn_state, arch="dmfn")
    with pytest.raises(WeightsError, match="sha256"):
        load_weights(path, expected_sha256="0" * 64)


def test_wrong_architecture_is_refused(tmp_path, dmfn_state):
    path = save_weights(tmp_path / "liar.safetensors", dmfn_state, arch="dfnet")
    with pytest.raises(WeightsError, match="liar.safetensors.*dfnet"):
        load_model(path, device="cpu")


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickles_with_code_are_refused(tmp_path):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        pickle.dump({"weight": _Evil()}, fh, protocol=2)
    with pytest.raises(WeightsError, match="evil.pt refused as an unsafe pickle: it holds Python objects") as caught:
        load_weights(path)
    assert "weights_only" not in str(caught.value)  # torch's advice to turn the safety off never reaches users


def test_fine_tuned_models_are_found_in_the_user_folder(dmfn_state):
    folder = user_models_dir()
    weights = save_weights(folder / "my-cats.safetensors", dmfn_state, arch="dmfn")
    card = {"name": "my-cats", "base_model": "dmfn", "sha256": sha256_of(weights), "data": "~/Pictures/cats"}
    (folder / "my-cats.json").write_text(json.dumps(card))
    (folder / "broken.safetensors").write_bytes(b"not weights")
    spec = get_spec("my-cats")
    assert spec.status == "fine-tuned" and spec.arch == "dmfn" and spec.card.data == "~/Pictures/cats"
    assert "my-cats" in [s.name for s in list_models()]
    assert load_model("my-cats", device="cpu").spec.name == "my-cats"


def test_a_card_names_the_input_fill_its_weights_were_trained_with():
    folder = user_models_dir()
    torch.manual_seed(0)
    state = build_network("dfnet").state_dict()
    for name, fill in (("prefilled", "telea"), ("textured", "patchmatch"), ("plain", "zeros"), ("odd", "blur")):
        weights = save_weights(folder / f"{name}.safetensors", state, arch="dfnet")
        card = {"name": name, "sha256": sha256_of(weights), "input_fill": fill}
        (folder / f"{name}.json").write_text(json.dumps(card))
    assert get_spec("prefilled").input_fill == "telea" and get_spec("textured").input_fill == "patchmatch"
    assert get_spec("plain").input_fill is None  # "zeros" overrides the base's pre-fill
    assert get_spec("dfnet").input_fill == "patchmatch"  # the shipped weights run on PatchMatch's fill (card)
    assert "odd" not in [s.name for s in list_models()]  # an unknown fill is never run as zeros
    with pytest.raises(WeightsError, match="unknown input fill 'blur'"):
        get_spec(folder / "odd.safetensors")


@pytest.mark.parametrize("metadata", [[1, 2], 7, {"arch": 3}])
def test_a_malformed_safetensors_header_is_a_clean_error(tmp_path, metadata):
    header = json.dumps({"__metadata__": metadata, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})
    path = tmp_path / "odd.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header.encode() + bytes(4))
    with pytest.raises(WeightsError, match="odd.safetensors has a malformed header"):
        read_arch(path)


def test_non_finite_weights_are_refused(tmp_path, dmfn_state):
    state = {k: v.clone() for k, v in dmfn_state.items()}
    name = next(k for k, v in state.items() if v.is_floating_point())
    state[name].view(-1)[0] = float("nan")
    path = save_weights(tmp_path / "nan.safetensors", state, arch="dmfn")
    with pytest.raises(WeightsError, match=f"nan.safetensors is damaged: 1 tensor\\(s\\) hold NaN .*{name}"):
        load_model(path, device="cpu")


def test_finite_but_absurd_weights_are_refused(tmp_path, dmfn_state):
    """Every value 6e4 filled the hole solid white and exited 0."""
    state = {k: torch.full_like(v, 6e4) if v.is_floating_point() else v for k, v in dmfn_state.items()}
    path = save_weights(tmp_path / "absurd.safetensors", state, arch="dmfn")
    with pytest.raises(WeightsError, match="absurd.safetensors is not a usable dmfn model: .* up to 6e\\+04"):
        load_model(path, device="cpu")


def test_large_batchnorm_statistics_are_not_taken_for_absurd_weights(tmp_path):
    from engine.registry import build_network

    network = build_network("dfnet")
    state = {k: (torch.full_like(v, 3000.0) if k.endswith("running_var") else v) for k, v in
             network.state_dict().items()}
    path = save_weights(tmp_path / "large_var.safetensors", state, arch="dfnet")
    assert load_model(path, device="cpu") is not None


@pytest.mark.parametrize("card_text", [
    '{"name": {"a": 1}}', '{"name": ["x"]}', '{"name": null, "sha256": 12}', '{"name": NaN}',
    "[" * 100000 + "]" * 100000, '["not", "an", "object"]',
])
def test_a_malformed_card_is_skipped_with_one_warning(dmfn_state, capsys, card_text):
    from main import main

    folder = user_models_dir()
    save_weights(folder / "good.safetensors", dmfn_state, arch="dmfn")
    save_weights(folder / "bad.safetensors", dmfn_state, arch="dmfn")
    (folder / "bad.json").write_text(card_text)
    names = [s.name for s in list_models()]
    assert "good" in names and "bad" not in names
    assert main(["models"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: skipped bad.safetensors: ")
    with pytest.raises(ModelUnavailable):
        get_spec("bad")


class _Tiny(torch.nn.Module):
    """A one-convolution network: RGB in [0, 1] and the hole in, RGB in [0, 1] out."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 3, 3, padding=1)

    def forward(self, image, hole, fill=None):
        return torch.sigmoid(self.conv(torch.cat([image * (1 - hole), hole], 1)))


TINY = NetworkSpec(name="tiny-net", title="Tiny net (a test network)", arch="tiny", license="test",
                   training_data="none", rank=0, build=_Tiny,
                   forward=lambda net, image, hole, fill: (net(image, hole), None))


def test_a_spec_is_a_network_or_a_classical_fill():
    with pytest.raises(TypeError):
        ModelSpec(name="neither", title="Neither", license="test", training_data="none")
    with pytest.raises(ValueError, match="alpha_meaning"):
        NetworkSpec(name="mute", title="Mute", arch="tiny", license="test", training_data="none", build=_Tiny,
                    forward=TINY.forward, alpha_learned=True)
    assert all(isinstance(spec, (NetworkSpec, ClassicalSpec)) for spec in list_models())


def test_a_model_registered_for_a_with_block_is_listed_built_and_guessed_then_gone(tmp_path):
    before = list_models()
    with temporarily_registered(TINY):
        assert get_spec("tiny-net") is TINY and network_spec("tiny") is TINY and "tiny-net" in builtin_model_names()
        assert [spec.name for spec in list_models()][0] == "tiny-net"  # rank 0: listed first
        assert default_model_name() != "tiny-net"  # it has no weights
        assert isinstance(build_network("tiny"), _Tiny) and parameter_count(TINY) == 4 * 3 * 9 + 3
        assert "tiny" in [spec.arch for spec in trainable_specs()]
        weights = tmp_path / "some.safetensors"
        _metadata_less(weights, build_network("tiny").state_dict())
        assert get_spec(weights).arch == "tiny"  # told apart from the other networks by its tensors
    assert list_models() == before and "tiny-net" not in builtin_model_names()
    with pytest.raises(ModelUnavailable, match="unknown network architecture 'tiny'"):
        network_spec("tiny")


def test_a_registered_model_can_be_replaced_for_a_with_block(tmp_path):
    from dataclasses import replace

    shipped = get_spec("dmfn")
    absent = replace(shipped, weights_file=tmp_path / "absent.safetensors")
    with temporarily_registered(absent):
        assert get_spec("dmfn") is absent and get_spec("dmfn").status == "no weights"
        assert [spec.name for spec in list_models()].index("dmfn") == builtin_model_names().index("dmfn")
    assert get_spec("dmfn") is shipped


def _metadata_less(path, state):
    """A safetensors file without the architecture in its header (as written by other tools)."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path


def test_many_files_without_metadata_are_listed_without_building_a_network_per_file(monkeypatch, dmfn_state):
    """3,000 such files took over two minutes: every file built each network and loaded all its tensors."""
    from dataclasses import replace

    import engine.registry as registry

    builds, loads = [], []
    counted = [replace(spec, build=lambda build=spec.build: builds.append(1) or build())
               for spec in registry.trainable_specs()]
    import safetensors.torch

    load_file = safetensors.torch.load_file
    monkeypatch.setattr(safetensors.torch, "load_file", lambda *a, **k: loads.append(1) or load_file(*a, **k))
    folder = user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(300):
        _metadata_less(folder / f"tiny{i:03d}.safetensors", {"w": torch.zeros(1)})
    _metadata_less(folder / "guessed.safetensors", dmfn_state)
    with temporarily_registered(*counted):
        names = [spec.name for spec in list_models()]
        assert len(builds) <= len(registry.trainable_specs()) and not loads  # no tensor was read
        assert "guessed" in names and get_spec("guessed").arch == "dmfn"
    skipped = registry.skipped_user_models()
    assert len(skipped) == 300 and "does not say which architecture" in skipped[folder / "tiny000.safetensors"]


@pytest.mark.parametrize("protocol", [2, 4])
def test_an_unsafe_pickle_given_as_a_model_is_refused_in_one_line(tmp_path, capsys, protocol):
    from main import main

    path = tmp_path / "some.pt"
    with open(path, "wb") as fh:
        pickle.dump({"weight": _Evil()}, fh, protocol=protocol)  # protocol 4 made torch print a UserWarning
    code = main(["remove", str(tmp_path / "photo.png"), "--mask", str(tmp_path / "mask.png"), "-o",
                 str(tmp_path / "out.png"), "--model", str(path)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Warning" not in err and "weights_only" not in err
    assert err.startswith(f"error: weights file {path} refused as an unsafe pickle")
    assert "safetensors" in err and "weights-only" in err


def test_a_weights_only_torch_file_is_still_accepted(tmp_path, dmfn_state):
    path = tmp_path / "plain.pt"
    torch.save(dict(dmfn_state), path)
    assert get_spec(path).arch == "dmfn"
    assert load_model(path, device="cpu").spec.weights_file == path


@pytest.mark.parametrize("card_bytes", [b'{"name": ', b"\xff{}", b'{"input_fill": 3}', b'{"license": 5}'])
def test_a_broken_card_is_reported_by_its_own_name(dmfn_state, capsys, card_bytes):
    from main import main

    folder = user_models_dir()
    save_weights(folder / "bad.safetensors", dmfn_state, arch="dmfn")
    (folder / "bad.json").write_bytes(card_bytes)
    assert main(["models"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: skipped bad.safetensors: ")
    assert str(folder / "bad.json") in err
    with pytest.raises(WeightsError, match="bad.json"):
        get_spec(folder / "bad.safetensors")


def test_user_models_whose_names_collide_are_skipped_with_a_reason(dmfn_state, capsys):
    from main import main

    folder = user_models_dir()
    for stem, name in (("a", "dfnet"), ("b", "twin"), ("c", "twin")):
        save_weights(folder / f"{stem}.safetensors", dmfn_state, arch="dmfn")
        (folder / f"{stem}.json").write_text(json.dumps({"name": name}))
    save_weights(folder / "dmfn.safetensors", dmfn_state, arch="dmfn")  # no card: named after the file
    specs = list_models()
    assert [s.name for s in specs].count("twin") == 1 and get_spec("twin").weights_file == folder / "b.safetensors"
    assert get_spec("dfnet").card is None and get_spec("dmfn").card is None  # the built-ins keep their names
    assert main(["models"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert sorted(err) == [
        "warning: skipped a.safetensors: name 'dfnet' is taken by a built-in model",
        "warning: skipped c.safetensors: name 'twin' is also used by b.safetensors",
        "warning: skipped dmfn.safetensors: name 'dmfn' is taken by a built-in model",
    ]
