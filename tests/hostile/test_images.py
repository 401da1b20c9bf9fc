"""照片更新 with hostile images: each is refused with a Chinese message next to the photo
field and nothing stored, or stored re-encoded with nothing but the pixels."""

from __future__ import annotations

import io
import re
import resource
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import ExifTags
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import Attachment
from app.models import ProcessInstance
from app.services.applications import attachments
from tests.conftest import WebClient
from tests.factories import PDF
from tests.hostile.conftest import Rich
from tests.hostile.payloads import assert_sane
from tests.hostile.payloads import changed
from tests.hostile.payloads import post
from tests.hostile.payloads import snapshot

W, H = 354, 472
UNREADABLE = "无法识别的图片文件"
MISMATCH = "文件内容与扩展名不符"


def jpeg(size: tuple[int, int] = (W, H), mode: str = "RGB", **save: Any) -> bytes:
    img = Image.new(mode, size, (200, 120, 40, 0)[: len(mode)] if mode != "L" else 128)
    out = io.BytesIO()
    img.save(out, format="JPEG", **save)
    return out.getvalue()


def png(size: tuple[int, int] = (W, H), **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(out, format="PNG", **save)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A few hundred bytes that claim ``width`` × ``height`` RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (min(width, 50_000) * 3 + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real JPEG whose frame header (SOF0) is rewritten to claim another size."""
    data = bytearray(jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def gps_exif() -> bytes:
    ex = Image.Exif()
    ex[ExifTags.Base.Make] = "HostileCam"
    ex[ExifTags.Base.ImageDescription] = "<script>alert('exif')</script>"
    gps = ex.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (39.0, 54.0, 27.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (116.0, 23.0, 17.0)
    return ex.tobytes()


def jpeg_with_comment(text: bytes) -> bytes:
    """A JPEG carrying ``text`` in a COM segment right after SOI."""
    data = jpeg()
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + data[2:]


@pytest.fixture()
def doctor(web: WebClient, rich: Rich) -> WebClient:
    assert web.login("doctor01").status_code == 302
    return web


def _files(upload_dir: str) -> set[str]:
    return {str(p) for p in Path(upload_dir).rglob("*") if p.is_file()}


def _upload(web: WebClient, name: str, data: bytes) -> Any:
    return post(web, "/physician/profile", {"action": "photo", "photo": (data, name)}, multipart=True)


def _refused(app: Flask, web: WebClient, rich: Rich, name: str, data: bytes, message: str) -> None:
    before, files = snapshot(app), _files(rich.world.upload_dir)
    resp = _upload(web, name, data)
    body = assert_sane(resp, [name])
    assert resp.status_code == 422, resp.status_code
    shown = re.search(r'id="field-photo".*?<div class="error" role="alert">([^<]+)</div>', body, re.S)
    assert shown is not None and message in shown.group(1), shown and shown.group(1)
    assert changed(before, snapshot(app)) == {}
    assert _files(rich.world.upload_dir) == files


def _stored(app: Flask, web: WebClient, name: str, data: bytes) -> tuple[bytes, str]:
    """Upload an acceptable photo; return the stored bytes and its MIME type as served."""
    resp = _upload(web, name, data)
    assert resp.status_code == 302, re.findall(r'role="alert">([^<]+)<', resp.get_data(as_text=True))
    with app.app_context():
        inst = db.session.scalar(select(ProcessInstance).where(ProcessInstance.process_id == "photo")
                                 .order_by(ProcessInstance.id.desc()))
        assert inst is not None
        ref = inst.application["photo"]
        row = db.session.scalar(select(Attachment).where(Attachment.sha256 == ref["sha256"]))
        assert row is not None and row.filename in ("相片.jpg", "相片.png")  # never the posted name
        stored = attachments.path_of(app.config["MEDREG_UPLOAD_DIR"], ref["sha256"]).read_bytes()
        db.session.remove()
    with web.client.get(f"/physician/profile/photo/{ref['sha256']}") as served:
        assert served.status_code == 200 and served.data == stored
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        return stored, str(served.mimetype)


def _clean_image(stored: bytes, fmt: str) -> Image.Image:
    img = Image.open(io.BytesIO(stored))
    img.load()
    assert img.format == fmt and img.size == (W, H)
    assert len(img.getexif()) == 0 and "exif" not in img.info
    assert b"Exif\x00\x00" not in stored and b"http://ns.adobe.com/xap" not in stored
    extra = set(img.info) - {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}
    assert not extra, extra
    return img


# ---- refused -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "data", "message"), [
    pytest.param("bomb.png", png_declaring(30_000, 30_000), UNREADABLE, id="png-30000x30000"),
    pytest.param("bomb.png", png_declaring(10_000, 10_000), UNREADABLE, id="png-10000x10000"),
    pytest.param("bomb.jpg", jpeg_declaring(65_000, 65_000), UNREADABLE, id="jpeg-65000x65000"),
    pytest.param("p.jpg", png(), MISMATCH, id="png-named-jpg"),
    pytest.param("p.png", jpeg(), MISMATCH, id="jpeg-named-png"),
    pytest.param("p.jpg", b"", UNREADABLE, id="zero-bytes"),
    pytest.param("p.jpg", PDF, UNREADABLE, id="pdf-named-jpg"),
    pytest.param("p.png", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", UNREADABLE,
                 id="svg-named-png"),
    pytest.param("p.jpg", b"<html><script>alert(1)</script></html>", UNREADABLE, id="html-named-jpg"),
    pytest.param("p.jpg", jpeg()[: len(jpeg()) // 2], UNREADABLE, id="truncated-jpeg"),
    pytest.param("p.jpg", jpeg()[:600], UNREADABLE, id="jpeg-header-only"),
    pytest.param("p.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 2000, UNREADABLE, id="jpeg-magic-then-zeros"),
    pytest.param("p.jpg", jpeg((W + 1, H)), "您上传的相片为宽355、高472像素", id="one-pixel-too-wide"),
    pytest.param("p.jpg", jpeg((H, W)), "您上传的相片为宽472、高354像素", id="rotated"),
    pytest.param("p.jpg", jpeg((300, 400), mode="CMYK"), "您上传的相片为宽300、高400像素", id="cmyk-wrong-size"),
    pytest.param("p.jpg", jpeg() + b"\0" * (81 * 1024), "相片大小不得超过80k", id="over-80k"),
    pytest.param("p.jpg.php", jpeg(), "jpg、jpeg 或 png", id="php-extension"),
    pytest.param("p.svg", jpeg(), "jpg、jpeg 或 png", id="svg-extension"),
    pytest.param("p", jpeg(), "jpg、jpeg 或 png", id="no-extension"),
])
def test_hostile_photo_is_refused_next_to_the_field(app: Flask, doctor: WebClient, rich: Rich, name: str,
                                                    data: bytes, message: str) -> None:
    _refused(app, doctor, rich, name, data, message)


def test_gif_and_webp_behind_a_jpg_extension(app: Flask, doctor: WebClient, rich: Rich) -> None:
    for fmt in ("GIF", "WEBP"):
        out = io.BytesIO()
        Image.new("RGB", (W, H)).save(out, format=fmt)
        _refused(app, doctor, rich, "p.jpg", out.getvalue(), MISMATCH)


def test_a_png_declaring_81_megapixels_is_refused_quickly(app: Flask, doctor: WebClient,
                                                           rich: Rich) -> None:
    """Just below Pillow's bomb limit (89 Mpx) a 1 KB file claims 9000×9000 pixels: it is refused
    by its size, at once and without taking memory."""
    data = png_declaring(9_000, 9_000)
    assert len(data) < 10_000
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    _refused(app, doctor, rich, "p.png", data, "您上传的相片为宽9000、高9000像素")
    assert time.monotonic() - start < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 100 * 1024  # KB: < 100 MB more


def test_a_body_over_the_request_limit_is_refused_without_a_trace(app: Flask, doctor: WebClient,
                                                                 rich: Rich) -> None:
    before = snapshot(app)
    resp = _upload(doctor, "p.jpg", jpeg() + b"\0" * (17 * 1024 * 1024))
    body = assert_sane(resp, [])
    assert resp.status_code == 413 and "文件过大" in body
    assert changed(before, snapshot(app)) == {}


def test_no_file_chosen(app: Flask, doctor: WebClient, rich: Rich) -> None:
    before = snapshot(app)
    resp = post(doctor, "/physician/profile", {"action": "photo"}, multipart=True)
    assert resp.status_code == 422 and "请选择要上传的相片" in resp.get_data(as_text=True)
    assert changed(before, snapshot(app)) == {}


# ---- accepted, but only the pixels are kept -----------------------------------------


def test_exif_and_gps_are_stripped(app: Flask, doctor: WebClient, rich: Rich) -> None:
    data = jpeg(exif=gps_exif())
    sent = Image.open(io.BytesIO(data)).getexif()
    assert sent.get_ifd(ExifTags.IFD.GPSInfo)  # the upload really carries a position
    stored, mime = _stored(app, doctor, "IMG_0001.JPG", data)
    img = _clean_image(stored, "JPEG")
    assert mime == "image/jpeg" and img.mode == "RGB"
    assert not img.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"HostileCam" not in stored and b"<script>" not in stored


def test_png_metadata_chunks_are_stripped(app: Flask, doctor: WebClient, rich: Rich) -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "<?php system($_GET['c']); ?>")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPS 39.9N</x:xmpmeta>")
    data = png(pnginfo=info, exif=gps_exif(), icc_profile=b"<?php system($_GET['c']); ?>" * 4)
    stored, mime = _stored(app, doctor, "p.png", data)
    img = Image.open(io.BytesIO(stored))
    assert mime == "image/png" and img.format == "PNG" and img.size == (W, H)
    assert len(img.getexif()) == 0 and not getattr(img, "text", {})
    for marker in (b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"iCCP", b"<?php", b"xmpmeta", b"HostileCam"):
        assert marker not in stored


@pytest.mark.parametrize("payload", [
    pytest.param(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"shell.php" + b"\x00" * 30, id="zip"),
    pytest.param(b"<html><body><script>alert(document.cookie)</script></body></html>", id="html"),
    pytest.param(b"<?php system($_GET['cmd']); ?>", id="php"),
])
def test_a_polyglot_keeps_only_the_picture(app: Flask, doctor: WebClient, rich: Rich,
                                           payload: bytes) -> None:
    """A JPEG with something appended (or hidden in a comment) is re-encoded: what is stored
    and served is a plain JPEG, the payload is gone."""
    for data in (jpeg() + payload, jpeg_with_comment(payload)):
        stored, mime = _stored(app, doctor, "../../../../tmp/evil.php.jpg", data)
        _clean_image(stored, "JPEG")
        assert mime == "image/jpeg" and payload not in stored
        assert stored.endswith(b"\xff\xd9") and b"\xff\xfe" not in stored  # no COM segment
    assert not list(Path("/tmp").glob("evil.php*"))


def test_cmyk_jpeg_is_stored_as_rgb(app: Flask, doctor: WebClient, rich: Rich) -> None:
    """Browsers draw CMYK JPEGs badly or not at all: the stored photo is RGB."""
    data = jpeg(mode="CMYK")
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    stored, _mime = _stored(app, doctor, "p.jpeg", data)
    assert _clean_image(stored, "JPEG").mode == "RGB"
    assert b"Adobe" not in stored
