"""The 验证码 uses no look-alike characters (issue 13 item 9: S/5, Z/2, B/8, O/0, I/1, l, G/6)."""

from __future__ import annotations

import time

import pytest
from flask import Flask

from app.services.accounts import captcha
from tests.factories import drawn_captcha_answers


def test_the_alphabet_has_no_look_alikes() -> None:
    # guide Part 1: 验证码 + 换一张 (sign-in and 个人用户注册): a code a person can read
    for ch in "S5Z2B8O0QI1lG6":
        assert ch not in captcha.ALPHABET, ch
    assert not any(c.islower() for c in captcha.ALPHABET)  # no l (nor any other lower case)
    assert len(set(captcha.ALPHABET)) == len(captcha.ALPHABET) >= 20


def test_issued_codes_use_only_the_alphabet(ctx: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = drawn_captcha_answers(monkeypatch)
    for _ in range(60):
        sealed, png = captcha.issue()
        assert png.startswith(b"\x89PNG")
        answer = seen[-1]
        assert len(answer) == 4 and set(answer) <= set(captcha.ALPHABET)
        assert answer not in sealed and len(sealed) == captcha.SEALED_LENGTH  # only its HMAC is kept


def test_a_code_typed_in_lower_case_is_accepted(ctx: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = drawn_captcha_answers(monkeypatch)
    sealed, _ = captcha.issue()
    assert captcha.verify(sealed, seen[-1].lower())
    assert not captcha.verify(sealed, "7777" if seen[-1] != "7777" else "9999")


def test_an_answer_expires_after_ten_minutes(ctx: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = drawn_captcha_answers(monkeypatch)
    sealed, _ = captcha.issue()
    later = time.time() + captcha.VALID_MINUTES * 60 + 1
    monkeypatch.setattr(captcha.time, "time", lambda: later)
    assert not captcha.verify(sealed, seen[-1])
