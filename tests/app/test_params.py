"""Permalink parameters come from URLs anyone can type: every parser accepts what it should
and refuses the rest with a French sentence (no str.isdigit: "²".isdigit() is True)."""

import pytest

from app_pages import params


@pytest.mark.parametrize("raw", ["²", "1e3", "", "dix", "3.5", "١٢", "12km", "--4"])
def test_parse_int_refuses_what_is_not_ascii_digits(raw):
    with pytest.raises(params.BadParameterError) as info:
        params.parse_int(raw, 2, 30, what="la distance")
    assert "La distance" in str(info.value)


def test_parse_int_accepts_digits_in_bounds_only():
    assert params.parse_int(" 12 ", 2, 30, what="la distance") == 12
    with pytest.raises(params.BadParameterError, match="2 à 30"):
        params.parse_int("31", 2, 30, what="la distance")


def test_parse_choice_exact_then_case_insensitive():
    assert params.parse_choice("epci", ["epci", "communes_dep"], what="la vue") == "epci"
    assert params.parse_choice("EPCI", ["epci"], what="la vue") == "epci"
    with pytest.raises(params.BadParameterError, match="« zz » n'existe pas"):
        params.parse_choice("zz", ["epci"], what="la vue")


def test_lists_keep_order_drop_repeats_and_report_unknown_items():
    assert params.decode_list(" a, b,,a ,c ") == ["a", "b", "c"]
    assert params.encode_list(["21231", "21054"]) == "21231,21054"
    known, unknown = params.parse_list("b,x,a,b", ["a", "b"], what="les familles")
    assert (known, unknown) == (["b", "a"], ["x"])


def test_flags_and_text():
    assert params.parse_flag("1", what="l'option") is True
    assert params.parse_flag("non", what="l'option") is False
    with pytest.raises(params.BadParameterError):
        params.parse_flag("peut-être", what="l'option")
    assert params.parse_text("  crèche\x00\n ") == "crèche"
    assert len(params.parse_text("a" * 500)) == params.MAX_TEXT


def test_unknown_parameters_are_named_with_the_right_grammar():
    one = params.unknown_message(["foo"])
    assert one.startswith("Le paramètre « foo »") and "il est ignoré" in one
    two = params.unknown_message(["foo", "bar"])
    assert two.startswith("Les paramètres « foo », « bar »") and "ils sont ignorés" in two
