"""Device names and the CPU's native bf16 detection."""

import pytest
import torch

from engine import device


def test_cpu_bf16_feature_prefers_amx(monkeypatch):
    for flags, expected in (({"avx2", "amx_bf16", "avx512_bf16"}, "amx_bf16"), ({"avx512f", "avx512_bf16"},
                            "avx512_bf16"), ({"avx2", "avx512f"}, None), (set(), None)):
        monkeypatch.setattr(device, "_cpu_info", lambda flags=flags: ("Test CPU", frozenset(flags)))
        assert device.cpu_bf16_feature() == expected


def test_bf16_trains_faster_with_amx_or_on_amd_avx512_bf16_only(monkeypatch):
    for name, flags, expected in (("Intel(R) Xeon(R) Platinum 8480+", {"avx512_bf16", "amx_bf16"}, True),
                                  ("AMD EPYC 9R14 96-Core Processor", {"avx512_bf16"}, True),
                                  ("Intel(R) Xeon(R) Processor", {"avx512_bf16"}, False),
                                  ("AMD EPYC 7R13 Processor", {"avx2"}, False),
                                  ("Intel(R) Xeon(R) Platinum 8259CL", {"avx512f"}, False)):
        monkeypatch.setattr(device, "_cpu_info", lambda name=name, flags=flags: (name, frozenset(flags)))
        assert device.cpu_bf16_faster() is expected, name


def test_describe_cpu_names_the_model_threads_and_bf16(monkeypatch):
    monkeypatch.setattr(device, "_cpu_info", lambda: ("AMD EPYC 9999", frozenset({"avx512_bf16"})))
    threads = torch.get_num_threads()
    assert device.describe_device(torch.device("cpu")) == f"CPU: AMD EPYC 9999 ({threads} threads, avx512_bf16)"
    monkeypatch.setattr(device, "_cpu_info", lambda: ("", frozenset()))
    assert device.describe_device(torch.device("cpu")) == f"CPU ({threads} threads)"


def test_parse_cpuinfo_takes_the_first_processor():
    text = ("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n"
            "flags\t\t: fpu avx512f amx_bf16 amx_tile\n\nprocessor\t: 1\nmodel name\t: Other\nflags\t\t: fpu\n")
    name, flags = device.parse_cpuinfo(text)
    assert name == "Intel(R) Xeon(R) Platinum 8480+"
    assert flags == frozenset({"fpu", "avx512f", "amx_bf16", "amx_tile"})
    assert device.parse_cpuinfo("") == ("", frozenset())


@pytest.mark.parametrize(("spec_allows", "cpu_fast", "dtype", "expected"), [
    (True, True, None, True),  # the engine's choice on a CPU with fast bf16
    (True, False, None, False),  # emulated or slow bf16: float32
    (False, True, None, False),  # weights whose bf16 error was not measured: float32
    (True, True, torch.float32, False),  # a caller that asks for float32 gets it
])
def test_cpu_bf16_autocast_only_where_the_spec_and_the_cpu_allow(monkeypatch, spec_allows, cpu_fast, dtype,
                                                                  expected):
    from dataclasses import replace

    import numpy as np

    import engine.inpainter as inpainter
    from engine.registry import get_spec

    seen = []

    def forward(network, image, hole, fill):
        seen.append(torch.is_autocast_enabled("cpu"))
        return network(image), None

    monkeypatch.setattr(inpainter, "cpu_bf16_faster", lambda: cpu_fast)
    spec = replace(get_spec("dfnet"), cpu_bf16=spec_allows, forward=forward, input_fill=None)
    model = inpainter.NetworkInpainter(spec, torch.nn.Conv2d(3, 3, 1), torch.device("cpu"), dtype=dtype)
    images, holes = np.zeros((1, 8, 8, 3), np.float32), np.ones((1, 8, 8), bool)
    prediction = model.predict(images, holes)
    assert seen == [expected] and prediction.raw.dtype == np.float32
    with torch.autocast("cpu", dtype=torch.bfloat16):  # a caller's own autocast (the benchmark's) stays on
        model.predict(images, holes)
    assert seen[-1] is True
