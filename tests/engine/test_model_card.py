"""Model cards: typed fields a reader can trust, refused identity fields, unknown keys kept."""

import pytest

from engine.model_card import CARD_VERSION, ModelCard


def test_a_card_round_trips_and_keeps_keys_it_does_not_know():
    data = {"name": "cats", "arch": "dfnet", "steps": 40, "time_s": 12, "helped": False,
            "metrics_after": {"overall": {"l1_percent_hole": 2.0}}, "from_a_newer_version": [1, 2]}
    card = ModelCard.from_dict(data)
    assert card.steps == 40 and card.time_s == 12 and card.helped is False and card.card_version == CARD_VERSION
    assert card.extra == {"from_a_newer_version": [1, 2]}
    written = card.to_dict()
    assert written["from_a_newer_version"] == [1, 2] and written["metrics_after"] == data["metrics_after"]
    assert ModelCard.from_dict(written) == card


@pytest.mark.parametrize(("field", "value"), [("steps", "40"), ("steps", True), ("helped", "yes"),
                                              ("metrics_after", [1]), ("time_s", "fast"), ("data", 3)])
def test_a_field_of_the_wrong_type_is_left_out(field, value):
    card = ModelCard.from_dict({"name": "cats", field: value})
    assert getattr(card, field) is None and card.name == "cats"


@pytest.mark.parametrize(("data", "message"), [
    ({"name": ""}, "'name' must be a short text"),
    ({"name": 5}, "'name' must be a short text"),
    ({"sha256": "abc"}, "'sha256' must be 64 hexadecimal digits"),
    ({"arch": ["dfnet"]}, "'arch' must be text"),
    ({"license": 5}, "'license' must be text"),
    ({"input_fill": "blur"}, "unknown input fill 'blur' \\(known: zeros, telea\\)"),
])
def test_a_bad_identity_field_refuses_the_card(data, message):
    with pytest.raises(ValueError, match=message):
        ModelCard.from_dict(data, known_fills=("telea",))


def test_zeros_and_a_known_fill_are_accepted():
    assert ModelCard.from_dict({"input_fill": "zeros"}, known_fills=("telea",)).input_fill == "zeros"
    assert ModelCard.from_dict({"input_fill": "telea"}, known_fills=("telea",)).input_fill == "telea"
