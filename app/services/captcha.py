"""Image captchas (the ``captcha`` package) for registration, sign-in and recovery."""

from __future__ import annotations

import secrets

from captcha.image import ImageCaptcha

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_IMAGE = ImageCaptcha(width=120, height=44, font_sizes=(34, 38))


def new_challenge() -> tuple[str, bytes]:
    """A random 4-character answer and its PNG image."""
    answer = "".join(secrets.choice(ALPHABET) for _ in range(4))
    return answer, _IMAGE.generate(answer, format="png").getvalue()


def matches(expected: str | None, given: str | None) -> bool:
    """Case-insensitive comparison; a missing challenge never matches."""
    if not expected or not given:
        return False
    return secrets.compare_digest(expected.upper(), given.strip().upper())
