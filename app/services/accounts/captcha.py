"""Image captchas (the ``captcha`` package) for registration, sign-in and recovery.

Each challenge is a server-side row used at most once, so replaying an old session
cookie cannot reuse an answer.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import delete

from app.extensions import db
from app.models import CaptchaChallenge
from app.models.base import utcnow

if TYPE_CHECKING:
    from captcha.image import ImageCaptcha

# Only characters a person cannot mistake for another in a distorted image: none of the
# look-alike pairs S/5, Z/2, B/8, O/0/Q, I/1/l, G/6 (answers are read case-blind).
LOOK_ALIKE = "S5Z2B8O0QI1lG6"
ALPHABET = "ACDEFHJKLMNPRTUVWXY3479"
VALID_MINUTES = 10


@cache
def _image() -> ImageCaptcha:
    """The image generator, built on the first challenge (Pillow is loaded only where captchas
    are on)."""
    from captcha.image import ImageCaptcha
    return ImageCaptcha(width=120, height=44, font_sizes=(34, 38))


def issue() -> tuple[str, bytes]:
    """A new challenge: its id (for the session) and its PNG image."""
    now = utcnow()
    db.session.execute(delete(CaptchaChallenge).where(
        CaptchaChallenge.created_at < now - timedelta(hours=1)))
    answer = "".join(secrets.choice(ALPHABET) for _ in range(4))
    challenge = CaptchaChallenge(id=secrets.token_hex(16), answer=answer, created_at=now)
    db.session.add(challenge)
    db.session.commit()
    return challenge.id, _image().generate(answer, format="png").getvalue()


def verify(challenge_id: str | None, given: str | None) -> bool:
    """One try per image: the challenge is used up whether the answer matches or not."""
    if not challenge_id:
        return False
    row = db.session.get(CaptchaChallenge, challenge_id)
    if row is None or row.used_at is not None:
        return False
    now = utcnow()
    row.used_at = now
    db.session.commit()
    if row.created_at < now - timedelta(minutes=VALID_MINUTES) or not given:
        return False
    return secrets.compare_digest(row.answer, given.strip().upper())
