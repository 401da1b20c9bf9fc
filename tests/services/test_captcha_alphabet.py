"""The 验证码 uses no look-alike characters (issue 13 item 9: S/5, Z/2, B/8, O/0, I/1, l, G/6)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import CaptchaChallenge
from app.services.accounts import captcha


def test_the_alphabet_has_no_look_alikes() -> None:
    # guide Part 1: 验证码 + 换一张 (sign-in and 个人用户注册): a code a person can read
    for ch in "S5Z2B8O0QI1lG6":
        assert ch not in captcha.ALPHABET, ch
    assert not any(c.islower() for c in captcha.ALPHABET)  # no l (nor any other lower case)
    assert len(set(captcha.ALPHABET)) == len(captcha.ALPHABET) >= 20


def test_issued_codes_use_only_the_alphabet(ctx: Flask) -> None:
    for _ in range(60):
        challenge_id, png = captcha.issue()
        assert png.startswith(b"\x89PNG")
        answer = db.session.scalar(select(CaptchaChallenge.answer)
                                   .where(CaptchaChallenge.id == challenge_id))
        assert answer and len(answer) == 4 and set(answer) <= set(captcha.ALPHABET)


def test_a_code_typed_in_lower_case_is_accepted(ctx: Flask) -> None:
    challenge_id, _ = captcha.issue()
    answer = db.session.scalar(select(CaptchaChallenge.answer).where(CaptchaChallenge.id == challenge_id))
    assert answer and captcha.verify(challenge_id, answer.lower())
