"""The 申请审核表 as a PDF (医师执业注册管理办法 第十二条; R-39).

Printed after submission; the institution signs and stamps it, the commission keeps it. It holds
every field of the application with the form's Chinese titles, the photo, the 受理编号, the date,
the boxes for the institution's and the commission's signature and stamp, and a QR code of the
public check of the application (type, status, date only).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from xml.sax.saxutils import escape

from flask_babel import gettext as _

from app.models import User
from app.services.applications import attachments
from app.services.engine.clock import CST
from app.services.engine.clock import today_cst
from app.services.errors import NotFound
from app.services.errors import Unavailable
from app.services.inbox import paper
from app.services.inbox import tasks
from app.services.records.maintenance import profile_of

if TYPE_CHECKING:  # reportlab and segno are imported when a table is printed, not by every process
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph

FONT_NAME = "MedregSong"
_registered: dict[str, str] = {}


class FontMissing(Unavailable):
    """The CJK font configured for printed tables is not on this machine (a set-up fault)."""


@dataclass(frozen=True)
class PrintedTable:
    """A generated 申请审核表."""

    title: str
    filename: str
    pdf: bytes


def _font(path: str, index: int) -> str:
    key = f"{path}#{index}"
    if _registered.get(FONT_NAME) == key:
        return FONT_NAME
    if not Path(path).is_file():
        raise FontMissing(_(
            "打印服务暂不可用：服务器缺少中文字体 %(path)s（Debian 软件包 fonts-arphic-uming，"
            "或以 MEDREG_CJK_FONT 指定宋体字体），请联系系统管理员。", path=path))
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=index))
    _registered[FONT_NAME] = key
    return FONT_NAME


def _value(f: Any) -> str:
    if f.widget == "file":
        return str(f.value.get("name")) if isinstance(f.value, dict) and f.value.get(
            "sha256") else "未上传"
    return str(f.display or "—")


def _photo(view: tasks.ApplicationView, upload_dir: str) -> Path | None:
    ref = (view.instance.application or {}).get("photo")
    sha = ref.get("sha256") if isinstance(ref, dict) else None
    if not sha and view.instance.qualification_id:
        prof = profile_of(view.instance.qualification_id)
        sha = prof.photo_sha256 if prof else None
    if not sha:
        return None
    try:
        path = attachments.path_of(upload_dir, str(sha))
    except ValueError:
        return None
    return path if path.is_file() else None


def review_table(actor: User, instance_id: int, verify_url: Callable[[str], str], secret: str,
                 upload_dir: str, font_path: str, font_index: int = 0) -> PrintedTable:
    """The 申请审核表 of an application the actor may see, as a PDF.

    :param verify_url: turns the signed token into the public check's absolute URL.
    :raise NotFound: no such application for the actor, or its type has no table.
    :raise FontMissing: the configured CJK font is absent (a set-up fault, not the user's).
    """
    import segno
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Image
    from reportlab.platypus import Paragraph
    from reportlab.platypus import SimpleDocTemplate
    from reportlab.platypus import Spacer
    from reportlab.platypus import Table
    from reportlab.platypus import TableStyle

    view = tasks.application_view(actor, instance_id)
    title = paper.table_title(view.instance.definition)
    if title is None:
        raise NotFound(_("该业务没有申请审核表"))
    font = _font(font_path, font_index)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=14, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, fontSize=17, leading=24, alignment=1)
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=11)

    def p(text: str, style: ParagraphStyle = body) -> Paragraph:
        # full-width spaces are the room left to sign in: kept, not collapsed like spaces
        return Paragraph(escape(text).replace("\n", "<br/>").replace("\u3000", "&nbsp;" * 2),
                         style)

    inst = view.instance
    url = verify_url(paper.token_for(inst.id, secret))
    qr_png = io.BytesIO()
    segno.make(url, error="m").save(qr_png, kind="png", scale=4, border=1)
    qr_png.seek(0)
    photo = _photo(view, upload_dir)
    photo_cell: Any = (Image(str(photo), width=30 * mm, height=42 * mm, kind="proportional")
                       if photo else p("（照片）\n二寸免冠白底正面半身照片", small))
    top = [
        [p("受理编号"), p(str(inst.id)), p("业务类型"), p(view.business_type), photo_cell],
        [p("姓名"), p(view.physician_name), p("身份证件号码"), p(view.physician_id_masked), ""],
        [p(view.institution_label), p(view.institution_name or "—"), p("提交日期"),
         p(inst.created_at.astimezone(CST).date().isoformat()), ""],
    ]
    rows: list[list[Any]] = []
    wide: list[int] = []  # declarations: one row across the table
    for f in view.fields:
        if f.name == "institution_id" and f.display == view.institution_name:
            continue  # already in the head of the table
        if f.name == "photo" and photo is not None:
            rows.append([p(f.title), p("见表头照片"), "", "", ""])
        elif f.widget == "checkbox":
            wide.append(len(top) + len(rows))
            rows.append([p(f"{f.title}：{_value(f)}"), "", "", "", ""])
        else:
            rows.append([p(f.title), p(_value(f)), "", "", ""])
    gap = "\u3000"  # room to sign in
    date = f"年{gap * 2}月{gap * 2}日"
    sign = [
        [p("申请人声明"), p(f"本人承诺以上所填信息真实有效。\n申请人签名：{gap * 22}{date}"),
         "", "", ""],
        [p("医疗机构意见"), p(f"\n\n负责人签字：{gap * 10}（机构盖章）{gap * 6}{date}"), "", "", ""],
        [p("卫生健康行政部门审核意见"), p(f"\n\n经办人签字：{gap * 10}（盖章）{gap * 8}{date}"),
         "", "", ""],
    ]
    table = Table(top + rows + sign, colWidths=[30 * mm, 50 * mm, 26 * mm, 42 * mm, 34 * mm])
    style = [
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("SPAN", (4, 0), (4, len(top) - 1)),
        ("ALIGN", (4, 0), (4, 0), "CENTER"),
    ]
    for r in range(len(top), len(top) + len(rows) + len(sign)):
        style.append(("SPAN", (0, r), (4, r)) if r in wide else ("SPAN", (1, r), (4, r)))
    table.setStyle(TableStyle(style))
    header = Table([[p(f"《{title}》", head), Image(qr_png, width=22 * mm, height=22 * mm)]],
                   colWidths=[156 * mm, 26 * mm])
    header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    note = p(f"扫描右上角二维码或访问以下地址核验本申请（受理编号 {inst.id}）：{url}　"
             f"打印日期：{today_cst().isoformat()}", small)
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=14 * mm, rightMargin=14 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=f"《{title}》",
                            author="医师电子化注册信息系统")
    doc.build([header, Spacer(1, 3 * mm), table, Spacer(1, 3 * mm), note])
    return PrintedTable(title, f"{title}-{inst.id}.pdf", out.getvalue())
