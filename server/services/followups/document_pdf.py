"""Render a document as a PDF: A4, or 72 mm wide on an 80 mm roll of variable length.

The CJK font is a TrueType file (DOCUMENT_FONT) embedded as a subset; without it rendering
fails with document_font_missing rather than printing boxes.
"""

import io
import os
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

from server.errors import AppError

FONT_NAME = "DocumentCJK"


class DocumentFontMissing(AppError):
    status = 503
    code = "document_font_missing"


def register_font(path):
    """Register the CJK TrueType font at path once; raise DocumentFontMissing if unusable."""
    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return
    if not path or not os.path.isfile(path):
        raise DocumentFontMissing(f"The document font {path!r} (DOCUMENT_FONT) is missing; "
                                  "install fonts-wqy-zenhei or point DOCUMENT_FONT at a "
                                  "TrueType CJK font.", details={"font": path})
    try:
        pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=0))
    except (TTFError, OSError) as failure:  # a CFF/OTF font or a broken file
        raise DocumentFontMissing(f"The document font {path!r} cannot be embedded ({failure}); "
                                  "use a TrueType (glyf) CJK font.", details={"font": path}) from None


def _styles(size):
    base = ParagraphStyle("body", fontName=FONT_NAME, fontSize=size, leading=size * 1.5,
                          wordWrap="CJK")
    return {"body": base,
            "title": ParagraphStyle("title", parent=base, fontSize=size * 1.6,
                                    leading=size * 2.2, alignment=1),
            "number": ParagraphStyle("number", parent=base, alignment=1),
            "head": ParagraphStyle("head", parent=base, fontSize=size * 1.1, spaceBefore=size * 0.6)}


def _p(text, style):
    """A paragraph of plain text (names come from imported files: never markup)."""
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


def _qr(url, size):
    widget = QrCodeWidget(url)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def story(content, width, size):
    """The flowables of a document; content: kind, title, number, premises_name,
    premises_address, office_name, issued_on, verify_url, and what the kind's body reads
    (BODIES)."""
    styles = _styles(size)
    body = styles["body"]
    flow = [_p(content["title"], styles["title"]), _p(content["number"], styles["number"]),
            Spacer(1, size),
            _p(f"被监督单位：{content['premises_name']}", body),
            _p(f"地址：{content['premises_address']}", body)]
    flow += BODIES[content["kind"]](content, styles)
    flow += [Spacer(1, size),
             _p(f"签发机关：{content['office_name']}", body),
             _p(f"日期：{content['issued_on']:%Y年%m月%d日}", body),
             Spacer(1, size),
             _p("监督员签名：______________    ______________", body),
             _p("被监督单位签收：______________  日期：________", body),
             Spacer(1, size)]
    qr_size = min(width, 40 * mm)
    flow.append(Table([[_qr(content["verify_url"], qr_size)]], colWidths=[width]))
    flow.append(_p(f"扫码核验文书真伪 Verify: {content['verify_url']}", body))
    return flow


def _order_body(content, styles):
    body = styles["body"]
    flow = [_p("经检查，发现你单位存在下列问题：", styles["head"])]
    for index, (text, basis) in enumerate(content["findings"], start=1):
        flow.append(_p(f"{index}. {text}", body))
        flow.append(_p(f"    依据：{basis}", body))
    return flow + [_p("卫生监督意见：", styles["head"]), _p(content["measures"], body),
                   _p(f"请于 {content['deadline']:%Y年%m月%d日} 前整改完毕（整改期限："
                      f"{content['deadline']}）。", body)]


def _recheck_body(content, styles):
    """A recheck result (整改复查意见书): findings [(text, legal_basis, before, after)],
    issued_on_order, deadline, outcome (pass | fail)."""
    body = styles["body"]
    flow = [_p(f"你单位于 {content['issued_on_order']:%Y年%m月%d日} 被责令改正（整改期限："
               f"{content['deadline']:%Y年%m月%d日}），经复查，各项问题整改情况如下：",
               styles["head"])]
    for index, (text, basis, before, after) in enumerate(content["findings"], start=1):
        flow.append(_p(f"{index}. {text}", body))
        flow.append(_p(f"    依据：{basis}", body))
        flow.append(_p(f"    整改前：{before}", body))
        flow.append(_p(f"    复查：{after}", body))
    verdict = "复查合格，予以结案。" if content["outcome"] == "pass" else \
        "复查不合格，将依法进一步处理。"
    return flow + [_p("复查意见：", styles["head"]), _p(verdict, body)]


def _paragraphs_body(content, styles):
    """Headed paragraphs [(head, text)] (a penalty decision)."""
    flow = []
    for head, text in content["paragraphs"]:
        flow += [_p(head, styles["head"]), _p(text, styles["body"])]
    return flow


# The body of each document kind (content["kind"]) between the common head and foot.
BODIES = {"rectification_order": _order_body, "recheck_result": _recheck_body,
          "penalty_decision": _paragraphs_body}


def render(content, *, layout, font_path):
    """Return the PDF bytes of a document in the layout ("a4" or "80mm")."""
    register_font(font_path)
    out = io.BytesIO()
    if layout == "a4":
        margin = 20 * mm
        width = A4[0] - 2 * margin
        doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=margin, rightMargin=margin,
                                topMargin=margin, bottomMargin=margin, title=content["number"])
        doc.build(story(content, width, 11))
        return out.getvalue()
    margin, width = 4 * mm, 72 * mm
    flow = story(content, width, 8)
    height = sum(item.wrap(width, 10**6)[1] + item.getSpaceBefore() + item.getSpaceAfter()
                 for item in flow) + 2 * margin + 10 * mm
    flow = story(content, width, 8)
    doc = SimpleDocTemplate(out, pagesize=(80 * mm, height), leftMargin=margin,
                            rightMargin=margin, topMargin=margin, bottomMargin=margin,
                            title=content["number"])
    doc.build(flow)
    return out.getvalue()
