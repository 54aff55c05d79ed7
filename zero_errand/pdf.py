"""A4 certificate PDFs in Chinese, with the font subset embedded (readable on any phone) and a QR code.

The font is the one `configure` names (the composition root passes `ZEL_CJK_FONT`), else the first Debian CJK font
found on disk; nothing is downloaded.
The QR holds the verify URL with the compact signed payload after `#` (see qr/payload.py).

The page reads as the department's paper certificate does: a person's certificate names its holder with the full
ID number (decrypted for the print only: the signed content and the QR keep the masked number), times are Beijing
time with the zone stated, amounts are in yuan with thousands separators (¥12,345.67).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from sqlalchemy.orm import object_session

import errors
from kinds.schema import FieldSpec, KindSchema
from qr.render import build
from store.models import Certificate, Person
from store.pii import Pii
from zero_errand.attestations import has_schema
from zero_errand.attestations import kind_of as attestation_kind
from zero_errand.certificates import CertKind, from_day_number
from zero_errand.departments import DEPARTMENTS
from zero_errand.standard_kinds import department_zh, particulars
from zero_errand.verification import url_of

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
FONT = "ZelCJK"
INSURANCE_ZH = {"pension": "养老", "medical": "医疗", "unemployment": "失业", "injury": "工伤", "maternity": "生育"}
TAX_ZH = {"individual_income": "个人所得税", "vat": "增值税", "corporate_income": "企业所得税"}
STATUS_ZH = {"paid": "已缴", "arrears": "欠缴"}
LIST_ZH = (("red_list", "红名单"), ("black_list", "黑名单"), ("joint_punishment", "联合惩戒"))
try:
    from zoneinfo import ZoneInfo

    BEIJING: timezone | ZoneInfo = ZoneInfo("Asia/Shanghai")
except Exception:  # no tz database on the host: China has kept UTC+8 without daylight saving since 1991
    BEIJING = timezone(timedelta(hours=8), "CST")
LINE_WIDTH = 160 * mm  # the detail lines' width between the margins; longer lines wrap


class FontMissing(errors.ConfigurationError, RuntimeError):
    """No CJK font on disk: install Debian `fonts-wqy-microhei` (make test does) or set ZEL_CJK_FONT."""


_font: str | None = None  # the configured font file; None: the first of FONT_CANDIDATES on disk


def configure(font: str | Path | None) -> None:
    """Use the CJK font file `font` (None: the first of FONT_CANDIDATES on disk) from the next PDF on."""
    global _font
    if (str(font) if font else None) != _font:
        _font = str(font) if font else None
        register_font.cache_clear()


@lru_cache(maxsize=1)
def register_font() -> str:
    candidates = [_font] if _font else list(FONT_CANDIDATES)
    for path in candidates:
        if Path(path).exists():
            pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=0))
            return path
    raise FontMissing(f"no CJK font found (looked for {', '.join(candidates)})")


def yuan(fen: int) -> str:
    """12,345.67 for 1234567 fen."""
    sign, fen = ("-", -fen) if fen < 0 else ("", fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def money(fen: int) -> str:
    """¥12,345.67 for 1234567 fen, as the bureaus print amounts."""
    return f"¥{yuan(fen)}"


def beijing_time(when: datetime) -> str:
    """2026年12月03日 20:15（北京时间）; a naive time is UTC (as the store keeps times)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return f"{when.astimezone(BEIJING):%Y年%m月%d日 %H:%M}（北京时间 UTC+8）"


@dataclass(frozen=True)
class Holder:
    """The person a certificate is about, as printed on it."""

    name: str
    id_number: str


def holder_of(cert: Certificate, pii: Pii | None) -> Holder | None:
    """A person's certificate's holder, decrypted from the store the certificate was loaded from; None for an
    enterprise's certificate, or without the PII keys (the PDF then shows the masked number)."""
    session = object_session(cert)
    if pii is None or session is None or not cert.owner.startswith("person:"):
        return None
    person = session.get(Person, int(cert.owner.split(":", 1)[1]))
    if person is None:
        return None
    return Holder(pii.decrypt(person.name_enc, "person.name"), pii.decrypt(person.id_number_enc, "person.id_number"))


def _lines(kind: CertKind, detail: list[dict[str, Any]]) -> list[str]:
    if kind in (CertKind.TAX_INDIVIDUAL, CertKind.TAX_ENTERPRISE):
        return [
            f"{d['period']}  {TAX_ZH.get(d['tax_type'], d['tax_type'])}  {money(d['amount_fen'])}  "
            f"{STATUS_ZH.get(d['status'], d['status'])}"
            for d in detail
        ]
    if kind is CertKind.SI_INDIVIDUAL:
        months: dict[str, list[dict[str, Any]]] = {}
        for d in detail:
            months.setdefault(d["month"], []).append(d)
        out = []
        for month, rows in months.items():
            kinds = "、".join(INSURANCE_ZH.get(r["insurance"], r["insurance"]) for r in rows)
            status = "欠缴" if any(r["status"] == "arrears" for r in rows) else "已缴"
            out.append(f"{month}  {kinds}  基数 {money(rows[0]['base_fen'])}  单位 {rows[0]['employer']}  {status}")
        return out
    return [
        f"{d['month']}  参保 {d['insured']} 人  缴费 {money(d['amount_fen'])}  "
        f"{STATUS_ZH.get(d['status'], d['status'])}"
        for d in detail
    ]


def _subject_fields(cert: Certificate, holder: Holder | None) -> list[tuple[str, str]]:
    c = cert.content
    if holder is not None:
        return [("姓名 Name", holder.name), ("公民身份号码 ID number", holder.id_number)]
    return [("纳税人/缴费人 Subject", f"{c['subjectName']}  {c['subject']}".strip())]


def _fields(cert: Certificate, holder: Holder | None) -> list[tuple[str, str]]:
    c = cert.content
    return [
        ("证明编号 No.", cert.number),
        *_subject_fields(cert, holder),
        ("所属期 Period", f"{from_day_number(c['periodFrom'])} 至 {from_day_number(c['periodTo'])}"),
        ("合计已缴 Total paid", f"{money(c['totalFen'])}（人民币 CNY）"),
        ("已缴月数 Months paid", str(c["monthsPaid"])),
        ("欠缴月数 Months in arrears", str(c["monthsInArrears"])),
        ("开具时间 Issued", beijing_time(cert.issued_at)),
        ("有效期至 Valid until", str(from_day_number(c["expiresOn"]))),
        ("开具机关 Issuer", DEPARTMENTS[cert.department].name_zh),
    ]


def _report_fields(cert: Certificate) -> list[tuple[str, str]]:
    c, d = cert.content, cert.detail
    flags = [name for key, name in LIST_ZH if d["flags"].get(key)]
    return [
        ("报告编号 No.", cert.number),
        ("企业 Enterprise", f"{c['subjectName']}  {c['subject']}"),
        ("报告期间 Span", f"{from_day_number(c['periodFrom'])} 至 {from_day_number(c['periodTo'])}"),
        ("信用等级 Grade", f"{d['grade']['grade']}（{d['grade']['score']} 分，规则 {d['grade']['rules']}）"),
        ("名单标识 Lists", "、".join(flags) or "无 none"),
        ("期间记录 Records", str(len(d["records"]))),
        ("开具时间 Issued", beijing_time(cert.issued_at)),
        ("有效期至 Valid until", str(from_day_number(c["expiresOn"]))),
        ("开具机关 Issuer", DEPARTMENTS[cert.department].name_zh),
    ]


def _report_line(r: dict[str, Any]) -> str:
    """One record of a format-1 report, in Chinese: its date, type and particulars (one line per visit)."""
    return f"{r['decided_on']}  {r['type_zh']}  {particulars(r)}"


def _report_lines(detail: dict[str, Any]) -> list[str]:
    lines = [_report_line(r) for r in detail["records"]]
    # reports made before inspections were folded into their records list the visits separately
    lines += [
        f"{i['visited_on']}  检查 {i.get('result_zh', i['result'])}  {i['findings']}"
        for i in detail.get("inspections", [])
    ]
    return lines or ["期间内无信用记录 No credit records in the span"]


def _grade_lines(detail: dict[str, Any]) -> list[str]:
    """How the grade came about, in the rule file's Chinese wording (credit.grading)."""
    return [line["zh"] for line in detail["grade"].get("explanation", []) if line.get("zh")]


def _wrap(line: str, size: int, width: float = LINE_WIDTH) -> list[str]:
    """`line` cut into pieces that fit `width` in the CJK font at `size`; continuations are indented."""
    out: list[str] = []
    current = ""
    for char in line:
        if current and pdfmetrics.stringWidth(current + char, FONT, size) > width:
            out.append(current)
            current = "    "
        current += char
    return out + [current]


def render(cert: Certificate, verify_base: str, pii: Pii | None = None) -> bytes:
    """`verify_base` is the deployment's public URL; the QR holds its verify page and the signed payload.
    With `pii`, a person's certificate names its holder with the full ID number (see `holder_of`)."""
    register_font()
    if has_schema(cert):  # laid out by its kind's schema: every kind issued today
        kind_of = attestation_kind(cert)
        title_zh, title_en = kind_of.title.zh, kind_of.title.en
        fields, details = _attestation_fields(cert, kind_of, holder_of(cert, pii))
        sections = [("明细 Details", details)] if details else []
    else:  # a certificate issued before the certificate kinds were schemas (format 1)
        kind = CertKind.parse(cert.kind)
        title_zh, title_en = kind.title_zh, kind.title_en
        report = kind is CertKind.CREDIT_REPORT
        fields = _report_fields(cert) if report else _fields(cert, holder_of(cert, pii))
        sections = [
            ("明细 Details", _report_lines(cert.detail) if report else _lines(kind, cert.detail.get("lines", [])))
        ]
        if report and _grade_lines(cert.detail):
            sections.append(("评分依据 Grade basis", _grade_lines(cert.detail)))
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, pageCompression=1)
    pdf.setTitle(f"{title_zh} {cert.number}")
    pdf.setAuthor(department_zh(cert.department))
    width, height = A4
    y = height - 30 * mm

    def text(x: float, size: int, s: str) -> None:
        pdf.setFont(FONT, size)
        pdf.drawString(x, y, s)

    pdf.setFont(FONT, 20)
    pdf.drawCentredString(width / 2, y, title_zh)
    y -= 8 * mm
    pdf.setFont(FONT, 10)
    pdf.drawCentredString(width / 2, y, title_en)
    y -= 14 * mm
    for label, value in fields:
        text(25 * mm, 11, label)
        text(75 * mm, 11, value)
        y -= 7.5 * mm
    # Footer with the QR code and how to verify, on the first page (a long breakdown continues on the next ones).
    _draw_qr(pdf, url_of(cert, verify_base), width - 25 * mm - 40 * mm, 12 * mm, 40 * mm)
    pdf.setFont(FONT, 9)
    pdf.drawString(25 * mm, 40 * mm, "扫描二维码核验真伪、是否撤销及有效期。")
    pdf.drawString(
        25 * mm, 35 * mm, "Scan the QR code to check that this certificate is genuine, current and not revoked."
    )
    pdf.drawString(25 * mm, 28 * mm, f"数字摘要 Digest: {cert.digest[:34]}")
    pdf.drawString(25 * mm, 24 * mm, f"                  {cert.digest[34:]}")
    pdf.drawString(25 * mm, 18 * mm, f"签名密钥 Signing key: {cert.signer}")
    bottom, page = 60 * mm, 1  # above the footer on the first page, the margin on the next
    for title, lines in sections:
        y -= 4 * mm
        text(25 * mm, 12, title)
        y -= 7 * mm
        for line in lines:
            for piece in _wrap(line, 9):
                if y < bottom:
                    pdf.showPage()
                    page += 1
                    y, bottom = height - 25 * mm, 20 * mm
                    pdf.setFont(FONT, 8)
                    pdf.drawString(25 * mm, 12 * mm, f"{title_zh} {cert.number} 第 {page} 页 page {page}")
                text(25 * mm, 9, piece)
                y -= 5.5 * mm
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def _value_text(spec: FieldSpec, value: Any) -> str:
    """A field's value as the PDF prints it: an enum by its Chinese and English label, money in yuan."""
    if spec.type == "enum":
        label = dict(spec.values).get(value)
        return f"{label.zh} {label.en}" if label else str(value)
    if spec.type == "boolean":
        return "是 Yes" if value else "否 No"
    if spec.type == "amount_fen":
        return f"{money(value)}（人民币 CNY）"
    return str(value)


def _cell_text(spec: FieldSpec, value: Any) -> str:
    """A table cell as the PDF prints it, in Chinese (the table's heading is bilingual)."""
    if spec.type == "enum":
        label = dict(spec.values).get(value)
        return label.zh if label else str(value)
    if spec.type == "boolean":
        return "是" if value else "否"
    if spec.type == "amount_fen":
        return money(value)
    return str(value)


def _attestation_fields(
    cert: Certificate, kind: KindSchema, holder: Holder | None
) -> tuple[list[tuple[str, str]], list[str]]:
    """An attestation's rows (number, subject, its QR fields with their labels, times, issuer) and the lines of its
    fields outside the QR code (the holder's copy shows them; the QR code commits to them by their salted hash)."""
    header, values = cert.content["header"], cert.content["values"]
    hidden = (cert.detail or {}).get("fields", {})
    subject = (
        [("姓名 Name", holder.name), ("公民身份号码 ID number", holder.id_number)]
        if holder is not None
        else [("证明对象 Subject", f"{header['subjectName']}  {header['subject']}".strip())]
    )
    rows = [("证明编号 No.", cert.number), *subject]
    rows += [(f"{f.label.zh} {f.label.en}", _value_text(f, values[f.name])) for f in kind.fields if f.in_qr]
    rows += [
        ("开具时间 Issued", beijing_time(cert.issued_at)),
        ("有效期至 Valid until", str(from_day_number(header["expiresOn"]))),
        ("开具机关 Issuer", department_zh(cert.department)),
    ]
    details: list[str] = []
    for f in kind.fields:
        if f.in_qr or f.name not in hidden:
            continue
        if f.type != "table":
            details.append(f"{f.label.zh} {f.label.en}：{_value_text(f, hidden[f.name])}")
            continue
        table = hidden[f.name]
        details.append(f"{f.label.zh} {f.label.en}（{len(table)}）：")
        if table:  # a heading of the columns' Chinese labels, then a row a line
            details.append("  " + "  ".join(c.label.zh for c in f.columns))
            details += ["  " + "  ".join(_cell_text(c, row[c.name]) for c in f.columns) for row in table]
    return rows, details


def _draw_qr(pdf: canvas.Canvas, url: str, x: float, y: float, size: float) -> None:
    """The same QR code as `zel cert qr` (URL prefix in byte mode, payload digits in numeric mode, level Q),
    drawn as vector modules with its quiet zone so it prints sharp at any resolution."""
    matrix = build(url).get_matrix()  # includes the 4-module quiet zone
    module = size / len(matrix)
    pdf.setFillColorRGB(0, 0, 0)
    for row, cells in enumerate(matrix):
        col = 0
        while col < len(cells):
            if cells[col]:
                start = col
                while col < len(cells) and cells[col]:
                    col += 1
                pdf.rect(
                    x + start * module, y + size - (row + 1) * module, (col - start) * module, module, stroke=0, fill=1
                )
            else:
                col += 1
