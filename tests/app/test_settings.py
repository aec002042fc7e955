"""Settings: JSON round trip, defaults on bad files, unknown keys, validation, recent files."""

from __future__ import annotations

import json
import os

import pytest

from app.settings import (
    RECENT_FILES_LIMIT,
    SCHEMA_VERSION,
    Settings,
    add_recent_file,
    read_settings,
    save_settings,
    settings_path,
)
from engine.paths import user_config_dir


def test_defaults():
    s = Settings()
    assert (s.brush_size, s.eraser_size, s.overlay_color) == (40, 40, "#ff3b30")
    assert (s.overlay_opacity, s.alpha_opacity, s.model, s.device, s.jpeg_quality) == (0.5, 0.7, "", "auto", 95)
    assert s.recent_files == [] and s.schema_version == SCHEMA_VERSION


def test_round_trip_at_the_default_path():
    assert settings_path() == user_config_dir() / "settings.json"
    assert read_settings()[0] == Settings()  # missing file
    s = Settings(
        last_folder="/photos",
        brush_size=12,
        eraser_size=80,
        overlay_color="#00FF7f",
        overlay_opacity=0.25,
        alpha_opacity=1.0,
        model="dmfn-places2",
        device="cpu",
        window_geometry="AdnQywADAAA=",
        recent_files=["/a.jpg", "/b.png"],
        jpeg_quality=88,
    )
    save_settings(s)
    assert settings_path().is_file()
    assert read_settings()[0] == s
    assert [p for p in os.listdir(settings_path().parent) if p != "settings.json"] == []  # no temp files left


def test_corrupt_file_gives_defaults(tmp_path):
    path = tmp_path / "settings.json"
    for text in ("{not json", "[1, 2, 3]", "", "\xff\xfe"):
        path.write_text(text, encoding="latin-1")
        assert read_settings(path)[0] == Settings()
    path.write_bytes(b"\x00\x81\xff")
    assert read_settings(path)[0] == Settings()


def test_unknown_keys_ignored_and_bad_values_fall_back(tmp_path):
    path = tmp_path / "settings.json"
    data = {
        "schema_version": 1,
        "brush_size": 25.6,
        "eraser_size": "big",
        "overlay_color": "red",
        "overlay_opacity": 3.0,
        "alpha_opacity": 0.2,
        "jpeg_quality": 0,
        "recent_files": ["/x.jpg", 5],
        "device": "cuda",
        "future_option": {"a": 1},
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    s = read_settings(path)[0]
    assert s.brush_size == 26 and s.alpha_opacity == 0.2 and s.device == "cuda"
    assert (s.eraser_size, s.overlay_color, s.overlay_opacity) == (40, "#ff3b30", 0.5)
    assert s.jpeg_quality == 95 and s.recent_files == ["/x.jpg"]
    assert not hasattr(s, "future_option")


def test_file_without_schema_version_is_migrated(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"brush_size": 10}), encoding="utf-8")
    s = read_settings(path)[0]
    assert s.brush_size == 10 and s.schema_version == SCHEMA_VERSION


def test_save_is_atomic_and_reports_the_file(tmp_path):
    path = tmp_path / "sub" / "settings.json"
    save_settings(Settings(brush_size=5), path)
    assert read_settings(path)[0].brush_size == 5
    blocker = tmp_path / "file"
    blocker.write_text("x")
    from engine.errors import WriteError

    with pytest.raises(WriteError, match="could not save .*settings.json"):
        save_settings(Settings(), blocker / "settings.json")  # parent is a file


def test_recent_files_order_unique_and_limit(tmp_path):
    s = Settings()
    paths = [tmp_path / f"p{k}.jpg" for k in range(5)]
    for p in paths:
        add_recent_file(s, p, limit=3)
    assert s.recent_files == [str(paths[4]), str(paths[3]), str(paths[2])]
    returned = add_recent_file(s, str(paths[2]), limit=3)
    assert returned is s
    assert s.recent_files == [str(paths[2]), str(paths[4]), str(paths[3])]
    add_recent_file(s, paths[0])
    assert s.recent_files[0] == str(paths[0]) and len(s.recent_files) == 4
    add_recent_file(s, "relative.png")
    assert s.recent_files[0] == os.path.abspath("relative.png")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_a_file_with_a_byte_order_mark_or_in_utf_16_is_read(tmp_path, encoding):
    path = tmp_path / "settings.json"
    path.write_bytes(json.dumps({"brush_size": 12, "last_folder": "/Fotos/Été"}).encode(encoding))
    assert read_settings(path) == (Settings(brush_size=12, last_folder="/Fotos/Été"), None)
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["not JSON", "nested 100,000 deep", "a list", "a pipe"])
def test_an_unreadable_file_is_kept_aside_and_reported(tmp_path, kind):
    path = tmp_path / "settings.json"
    if kind == "a pipe":
        os.mkfifo(path)
    else:
        text = {"not JSON": "{not json", "nested 100,000 deep": "[" * 100_000 + "]" * 100_000, "a list": "[1]"}[kind]
        path.write_text(text, encoding="utf-8")
    settings, note = read_settings(path)
    assert settings == Settings()
    assert note and "settings.json.bad" in note and "\n" not in note
    assert not path.exists() and (tmp_path / "settings.json.bad").exists()
    assert read_settings(path) == (Settings(), None)  # the next start: no file, no note


def test_the_editor_says_in_its_status_bar_that_its_settings_were_set_aside(make_main_window):
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text("{not json", encoding="utf-8")
    window = make_main_window()
    assert "settings.json.bad" in window.statusBar().currentMessage()
    assert window.settings == Settings()


def test_reading_keeps_only_the_first_valid_recent_files(tmp_path):
    path = tmp_path / "settings.json"
    entries = [5, "", None, *(f"/photos/{k}.jpg" for k in range(100_000))]
    path.write_text(json.dumps({"recent_files": entries}), encoding="utf-8")
    settings, note = read_settings(path)
    assert note is None
    assert settings.recent_files == [f"/photos/{k}.jpg" for k in range(RECENT_FILES_LIMIT)]


def test_adding_a_recent_file_looks_at_no_more_entries_than_it_keeps(monkeypatch):
    s = Settings(recent_files=[f"/photos/{k}.jpg" for k in range(100_000)])
    calls = []
    real_abspath = os.path.abspath
    monkeypatch.setattr(os.path, "abspath", lambda p: calls.append(p) or real_abspath(p))
    add_recent_file(s, "/photos/new.jpg")
    assert s.recent_files == ["/photos/new.jpg", *(f"/photos/{k}.jpg" for k in range(RECENT_FILES_LIMIT - 1))]
    assert len(calls) <= RECENT_FILES_LIMIT + 1


@pytest.mark.timeout(60)
def test_the_editor_starts_with_a_huge_recent_files_list(make_main_window):
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    entries = [f"/photos/{k}.jpg" for k in range(100_000)]
    settings_path().write_text(json.dumps({"recent_files": entries}), encoding="utf-8")
    window = make_main_window()
    assert [a.toolTip() for a in window.recent_menu.actions()] == entries[:RECENT_FILES_LIMIT]


@pytest.mark.timeout(60)
def test_the_editor_starts_with_settings_nested_100_000_deep(make_main_window):
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text('{"a": ' * 100_000 + "1" + "}" * 100_000, encoding="utf-8")
    window = make_main_window()
    assert window.settings == Settings()
    note = window.statusBar().currentMessage()
    assert "settings.json.bad" in note and "\n" not in note
