"""Image captchas (the ``captcha`` package) for registration, sign-in and recovery.

The server keeps nothing per image but one value in the (server-side) session: the answer's
keyed hash with its expiry. A new image replaces it, checking it removes it, so a session
holds at most one live answer however many images or attempts are made, and a used answer
cannot be tried again (not even by replaying the cookie: the session row no longer has it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from functools import cache
from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from captcha.image import ImageCaptcha

# Only characters a person cannot mistake for another in a distorted image: none of the
# look-alike pairs S/5, Z/2, B/8, O/0/Q, I/1/l, G/6 (answers are read case-blind).
LOOK_ALIKE = "S5Z2B8O0QI1lG6"
ALPHABET = "ACDEFHJKLMNPRTUVWXY3479"
VALID_MINUTES = 10
SEALED_LENGTH = 10 + 1 + 16 + 1 + 64  # expiry, nonce, HMAC-SHA256: the same for every image


@cache
def _image() -> ImageCaptcha:
    """The image generator, built on the first challenge (Pillow is loaded only where captchas
    are on)."""
    from captcha.image import ImageCaptcha
    return ImageCaptcha(width=120, height=44, font_sizes=(34, 38))


def new_answer() -> str:
    """Four characters of the alphabet (tests replace this to know the answer)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(4))


def _digest(expires: int, nonce: str, answer: str) -> str:
    key = str(current_app.config.get("SECRET_KEY") or "").encode("utf-8")
    return hmac.new(key, f"captcha:{expires}:{nonce}:{answer}".encode(), hashlib.sha256).hexdigest()


def issue() -> tuple[str, bytes]:
    """A new challenge: the value the session keeps (expiry, nonce and the answer's HMAC —
    not the answer) and the PNG image."""
    answer = new_answer()
    expires = int(time.time()) + VALID_MINUTES * 60
    nonce = secrets.token_hex(8)
    return f"{expires}:{nonce}:{_digest(expires, nonce, answer)}", _image().generate(
        answer, format="png").getvalue()


def verify(sealed: object, given: str | None) -> bool:
    """The typed answer matches the sealed one and it has not expired (the caller has already
    removed it from the session: one try per image)."""
    if not isinstance(sealed, str) or not given or len(given) > 20:
        return False
    parts = sealed.split(":")
    if len(parts) != 3 or not parts[0].isdigit():
        return False
    expires, nonce, digest = int(parts[0]), parts[1], parts[2]
    if expires < time.time():
        return False
    return hmac.compare_digest(digest, _digest(expires, nonce, given.strip().upper()))
