"""GB 11643 ID numbers and the masking of ID and phone numbers."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toilets.identity import (
    check_character,
    id_number_problem,
    mask_id_number,
    mask_phone,
    normalize_id_number,
    phone_problem,
)

# A published sample number from GB 11643-1999's annex: 11010519491231002X.
SAMPLE_X = "11010519491231002X"


def test_it_accepts_a_valid_number():
    first17 = "45070219800101001"
    assert id_number_problem(first17 + check_character(first17)) is None


def test_it_accepts_an_x_check_digit():
    assert check_character(SAMPLE_X[:17]) == "X"
    assert id_number_problem(SAMPLE_X) is None


def test_it_accepts_a_lowercase_x_after_normalising():
    assert normalize_id_number(" 11010519491231002x ") == SAMPLE_X


def test_it_refuses_a_wrong_check_digit():
    problem = id_number_problem("110105194912310021")
    assert problem is not None
    assert "校验位" in problem and "X" in problem


def test_it_refuses_an_impossible_birth_date():
    first17 = "45070219800231001"
    assert "出生日期" in id_number_problem(first17 + check_character(first17))


def test_it_refuses_a_birth_date_in_the_future():
    first17 = "45070221990101001"
    assert "出生日期" in id_number_problem(first17 + check_character(first17))


@pytest.mark.parametrize("value", ["", "12345", "4507021980010100131", "45070219800101001A"])
def test_it_refuses_malformed_numbers(value):
    assert "18 位" in id_number_problem(value)


def test_it_accepts_an_old_15_digit_number_with_a_valid_date():
    assert id_number_problem("450702800101001") is None
    assert "出生日期" in id_number_problem("450702801301001")


def test_the_address_part_need_not_match_the_county():
    first17 = "11010119900307001"  # issued in Beijing, living in Guangxi
    assert id_number_problem(first17 + check_character(first17)) is None


@given(st.from_regex(r"\A[1-6][0-9]{5}19[5-9][0-9](0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}\Z"))
def test_every_single_digit_change_is_caught(first17):
    valid = first17 + check_character(first17)
    assert id_number_problem(valid) is None
    wrong = "0" if valid[17] != "0" else "1"
    assert id_number_problem(valid[:17] + wrong) is not None


def test_masking_keeps_area_and_last_four():
    assert mask_id_number("450702198001011234") == "450702********1234"
    assert mask_id_number("450702800101001") == "450702*****1001"
    assert mask_phone("13812345678") == "138****5678"


@pytest.mark.parametrize("value", ["13812345678", "0777-1234567", "07771234567"])
def test_it_accepts_mobile_and_landline_phones(value):
    assert phone_problem(value) is None


@pytest.mark.parametrize("value", ["1381234567", "23812345678", "abc"])
def test_it_refuses_malformed_phones(value):
    assert phone_problem(value) is not None
