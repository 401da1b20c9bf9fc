"""The physician's photo: judged by its content, exact size, re-encoded without EXIF."""

from __future__ import annotations

import io
import os
import warnings

from flask_babel import gettext as _

from app.services.errors import InvalidInput

WIDTH, HEIGHT = 354, 472
MAX_BYTES = 80 * 1024
FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(message, {"photo": message})


def clean(filename: str, data: bytes) -> tuple[bytes, str]:
    """Check an uploaded photo and return it re-encoded (no metadata) with its extension.

    :raise InvalidInput: with the reason next to the ``photo`` field.
    """
    ext = os.path.splitext((filename or "").lower())[1]
    if ext not in FORMATS:
        raise _refuse(_("文件扩展名须为 jpg、jpeg 或 png"))
    if len(data) > MAX_BYTES:
        raise _refuse(_("相片大小不得超过80k，您上传的相片为 %(kb)s KB", kb=(len(data) + 1023) // 1024))
    from PIL import Image  # on first use: only photo uploads need Pillow
    from PIL import UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind, size = probe.format, probe.size
                probe.verify()
            img = Image.open(io.BytesIO(data))
            img.load()
            img.info.clear()  # only the pixels: Pillow would carry a JPEG comment or PNG profile over
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(_("无法识别的图片文件，请上传 jpg 或 png 格式的相片")) from None
    if kind != FORMATS[ext]:
        raise _refuse(_("文件内容与扩展名不符：请上传真实的 jpg 或 png 相片"))
    if size != (WIDTH, HEIGHT):
        raise _refuse(_("相片尺寸须为宽354像素、高472像素，您上传的相片为宽%(w)s、高%(h)s像素",
                        w=size[0], h=size[1]))
    out = io.BytesIO()
    if kind == "JPEG":
        img.convert("RGB").save(out, format="JPEG", quality=90, optimize=True)
    else:
        img.save(out, format="PNG", optimize=True)
    encoded = out.getvalue()
    if len(encoded) > MAX_BYTES and kind == "JPEG":
        for quality in (80, 70, 60):
            out = io.BytesIO()
            img.convert("RGB").save(out, format="JPEG", quality=quality, optimize=True)
            encoded = out.getvalue()
            if len(encoded) <= MAX_BYTES:
                break
    if len(encoded) > MAX_BYTES:
        raise _refuse(_("相片大小不得超过80k"))
    return encoded, ".jpg" if kind == "JPEG" else ".png"
