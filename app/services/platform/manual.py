"""The system's 使用手册 (医师电子化注册培训教程 and 医疗机构电子化注册培训教程): one text,
shown as a page and printed as a PDF. The wording follows the 2017 operating guide."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from flask_babel import gettext as _

from app.services.engine.clock import CORRECTION_DAYS
from app.services.engine.clock import LIMIT_DAYS
from app.services.errors import NotFound
from app.services.errors import Unavailable

FONT_NAME = "MedregManualSong"
_registered: dict[str, str] = {}


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...] = ()
    points: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manual:
    key: str
    title: str
    intro: str
    sections: tuple[Section, ...]


PHYSICIAN = Manual("physician", "医师电子化注册培训教程（系统使用手册·医师个人端）",
    "本手册说明医师个人端的全部操作：注册用户、验证资格或执业信息、领取激活码、激活账户、查看个人信息、"
    "修改安全设置、修改个人信息和提交业务申请。", (
    Section("1.1 登录医师电子化注册系统", (
        "在浏览器中打开本系统网址，在首页选择“医师个人版”点击进入。",
        "第一次使用的医师请点击“注册新账号”进行个人用户注册。"), (
        "医师在注册账户时所填写的姓名和身份证号，是系统验证资格和执业信息的依据，请认真填写。"
        "（注：姓名不是登录用户名，请不要输入字母及数字）",
        "注册时填写的手机号和邮箱，可用于密码找回，也可用于接收激活码，请如实填写。",
        "用户名以字母开头，6至12位数字和字母组合；密码要求6至16位数字和字母组合，密码区分大小写。",
        "用户名和密码是您登录系统的重要凭证，请牢记。（建议拍照记录！）")),
    Section("注册说明", (), (
        "A 在册医师：个人用户注册 → 到所在机构获取激活码 → 个人用户登录后输入激活码激活用户名",
        "B 有资格从未注册或现处于变更出、备案、注销状态的医师：个人用户注册 → "
        "个人用户登录后输入资格证书编码自行激活用户名")),
    Section("1.3 激活账户", (
        "用户登录并验证到资格或执业信息后，需验证您的手机号。",), (
        "点击“点击此处验证手机”，填入注册时录入的手机号，点击“向手机发送校验码”，输入正确的校验码后点击“确定”。",
        "如果您的手机不能接收到校验码短信，可以进行邮箱的验证。",
        "安全验证完成后，请向您所在的医疗机构申领激活码，激活码会发送到您的手机或邮箱。"
        "正确填入激活码后，点击【激活我的账户】。",
        "如果页面显示的医疗机构不是您目前执业所在的医疗机构，请您去卫生健康行政部门办理医师执业注册的变更。")),
    Section("2.1 查看医师个人的基本信息", (
        "激活后可在左侧菜单查看“资格信息”“执业信息”“考核信息”。",), (
        "执业信息列出您的每一项执业注册（执业地点、主要执业机构、医师级别、执业类别、执业范围、审批机关、审批日期）、"
        "多执业机构备案和电子证照。",
        "考核信息列出医疗机构录入的定期考核结果。")),
    Section("2.2 修改安全设置", (), (
        "安全设置可修改登录密码、手机号、安全邮箱。",
        "手机号码和安全邮箱是找回密码的依据，请如实填写。")),
    Section("2.3 修改执业注册信息中的相关内容（信息维护）", (), (
        "个人信息修改（学历、毕业院校、任职资格）：修改信息需执业所在医疗机构审核通过后才能生效；"
        "此处修改的内容只会替换执业注册信息中的相应内容，原始资格信息不会被更新。",
        "个人照片更新：最近六个月免冠白底证件照，宽354像素、高472像素，文件扩展名为jpg、jpeg、png，"
        "相片大小不得超过80k；上传成功后须等待您所在医疗机构审核，重复上传将覆盖之前上传的相片。",
        "科室信息设置：若您所在的医疗机构已经设置了科室信息，您可以选择自己所在的科室，确认保存。")),
    Section("2.4 个人业务申请", (
        "医师个人办理业务，必须按要求在医师个人端提交申请并经医疗机构确认后，才能去卫生健康行政部门办理（需带纸质资料文件）。",
        "每项业务的申请条件、所需材料、办理步骤和时限见系统内的“业务说明”。"), (
        "在“业务申请”中选择业务类型，填写表单并上传材料后提交申请。",
        "提交后在申请详情页打印系统生成的申请审核表，由医疗机构签字盖章。",
        "医疗机构确认后，申请送卫生健康行政部门受理。申请材料不齐全的，卫生健康行政部门在"
        f"{CORRECTION_DAYS}个工作日内一次性告知需要补正的全部内容，请在“业务查询”中按告知补正。",
        f"卫生健康行政部门自受理申请之日起{LIMIT_DAYS}个工作日内作出决定；办理进度、当前办理人和剩余时限可在“业务查询”中查看。",
        "医疗机构确认前，您可以在申请详情页撤回申请。",
        "执业证书遗失、损坏或信息印制错误的，请在左侧菜单“证书补办”中申请补办。")),
    Section("业务说明：个人业务类型", (), (
        "1、注册", "2、助理医师升执业医师", "3、军队变更入", "4、变更到军队", "5、变更", "6、注销",
        "7、多执业机构备案", "8、多执业机构取消备案", "9、申请取消“多地点执业”", "10、证书补办")),
    Section("3. 医师个人端：小结", (), (
        "第一步：注册用户", "第二步：验证资格或执业信息", "第三步：领取激活码", "第四步：激活账户",
        "第五步：查看个人信息", "第六步：修改安全设置", "第七步：修改个人信息", "第八步：提交业务申请")),
    Section("注册的用户名密码忘记了怎么办？", (
        "忘记密码，您可以通过医师个人端“密码找回”功能申请找回：通过手机找回（手机号必须已经通过验证）、"
        "通过邮箱找回（邮箱必须已经通过验证）或通过个人信息找回。",)),
    Section("处于注册无效状态及规培的医师如何激活？", (
        "有资格未注册、处于变更出、注册备案、注销状态、以及处于住院医师规范化培训、以及其他处于无效状态的医师，"
        "无法向机构领取激活码，则需要通过输入资格证书编码自行激活。",)),
    Section("未验证到医师资格怎么办？", (
        "若未通过医师资格校验，则可能是注册时填写的姓名及身份证号码有误，请修改正确后继续验证；"
        "如果确认姓名及身份证号码无误，请查看“资格补【改】指南”中的解决办法。",)),
))

INSTITUTION = Manual("institution", "医疗机构电子化注册培训教程（系统使用手册·机构端）",
    "本手册供医疗机构医务管理人员和卫生健康行政部门工作人员使用。账户由系统管理员或本机构管理员开设，"
    "请在首页选择“医疗机构版”登录。", (
    Section("一、医疗机构：待办任务", (
        "医师提交的业务申请首先进入本机构的“待办任务”。",), (
        "打开任务，核对申请内容和材料，选择“确认”“退回补正”或“不予确认”，并填写意见。",
        "医师打印的申请审核表须经本机构签字盖章；确认时上传签字盖章后的扫描件，或确认已收到纸质申请审核表。",
        "同类任务可以批量确认。",
        "信息修改和相片更新也由本机构审核，审核通过后方可生效。")),
    Section("二、医疗机构：激活码、医师名册、科室维护", (), (
        "激活码：为在本机构执业的医师生成账户激活码，发送到医师已验证的手机或邮箱；请当面核实手机号属于医师本人。",
        "医师名册：查看主要执业在本机构和多机构备案在本机构的医师，可导出名单。",
        "科室维护：设置本机构的科室及其对应的诊疗科目，医师可在个人端选择所在科室。")),
    Section("三、医疗机构：定期考核、报告注销/备案", (), (
        "定期考核：录入本机构医师的定期考核结果，医师可在“考核信息”中查看。",
        "报告注销/备案：医师有医师法 第十七条规定情形的，医疗机构应当在三十日内报告准予注册的卫生健康主管部门。")),
    Section("四、卫生健康行政部门：受理和审查决定", (), (
        f"受理：收到申请材料后审核，材料不齐全或者不符合法定形式的，在{CORRECTION_DAYS}个工作日内一次性告知需要补正的全部内容；"
        "逾期不告知的，自收到申请材料之日起即为受理（行政许可法 第三十二条）。",
        f"审查决定：自受理申请之日起{LIMIT_DAYS}个工作日内作出准予或者不予的决定；不予的须说明理由，并告知申请人依法申请行政复议或者提起行政诉讼的权利。",
        "办理统计：查看本部门各类业务的办理数量和超期情况。",
        "依职权注销和行政处罚记录：在相应菜单中办理。")),
    Section("五、账户安全", (), (
        "请妥善保管用户名和密码，不要与他人共用账户。",
        "连续多次输错密码后，需稍候再试；也可以使用手机校验码登录。")),
))

MANUALS = {m.key: m for m in (PHYSICIAN, INSTITUTION)}


def manual(key: str) -> Manual:
    """One of the manuals (``physician`` or ``institution``).

    :raise NotFound: no such manual.
    """
    found = MANUALS.get(key)
    if found is None:
        raise NotFound(_("没有这份使用手册"))
    return found


def _font(path: str, index: int) -> str:
    key = f"{path}#{index}"
    if _registered.get(FONT_NAME) == key:
        return FONT_NAME
    if not Path(path).is_file():
        raise Unavailable(_("使用手册暂不能下载：服务器缺少中文字体，请联系系统管理员；也可以直接打印本页。"))
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=index))
    _registered[FONT_NAME] = key
    return FONT_NAME


def pdf(key: str, font_path: str, font_index: int = 0) -> bytes:
    """The manual as an A4 PDF with the configured CJK font embedded.

    :raise NotFound: no such manual. :raise Unavailable: the font is not on the server.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph
    from reportlab.platypus import SimpleDocTemplate
    from reportlab.platypus import Spacer

    doc_manual = manual(key)
    font = _font(font_path, font_index)
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    title = ParagraphStyle("title", parent=body, fontSize=17, leading=26, alignment=1)
    head = ParagraphStyle("head", parent=body, fontSize=13, leading=20, spaceBefore=8)
    point = ParagraphStyle("point", parent=body, leftIndent=5 * mm, bulletIndent=1 * mm)
    story: list[object] = [Paragraph(escape(doc_manual.title), title), Spacer(1, 4 * mm),
                           Paragraph(escape(doc_manual.intro), body)]
    for s in doc_manual.sections:
        story.append(Paragraph(escape(s.heading), head))
        story += [Paragraph(escape(p), body) for p in s.paragraphs]
        story += [Paragraph(escape(p), point, bulletText="•") for p in s.points]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=doc_manual.title, leftMargin=18 * mm,
                      rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm).build(story)
    return out.getvalue()
