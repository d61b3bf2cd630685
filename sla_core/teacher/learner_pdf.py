"""The learner report as a PDF, written with ReportLab from the same records as the HTML page.

Why ReportLab: pure Python (BSD, a 2 MB wheel, ~9 MB installed, needs only Pillow), so it installs on a
Space or a school laptop as it is; WeasyPrint would print the HTML itself but needs Pango and HarfBuzz
from the system, which a bare Space image lacks. Text is set in DejaVu Sans where the system has it
(accents, "≈"), else in the Bitstream Vera font that ReportLab ships.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from .learner_report import REPORT_FOOTER, REPORT_NOT_GRADED, LearnerReport, Piece

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)  # Debian/Ubuntu fonts-dejavu-core
_lock = threading.Lock()  # ReportLab's font registry is process-wide


@lru_cache(maxsize=1)
def _fonts() -> tuple[str, str]:
    """(regular, bold) font names, registered once."""
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    def family(regular: str, bold: str) -> tuple[str, str]:  # so that <b> in a paragraph picks the bold face
        for is_bold, is_italic, face in ((0, 0, regular), (1, 0, bold), (0, 1, regular), (1, 1, bold)):
            addMapping(regular, is_bold, is_italic, face)
        return regular, bold

    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("SlaSans", str(regular)))
            pdfmetrics.registerFont(TTFont("SlaSans-Bold", str(bold)))
            return family("SlaSans", "SlaSans-Bold")
    import reportlab

    fonts = Path(reportlab.__file__).parent / "fonts"
    pdfmetrics.registerFont(TTFont("SlaVera", str(fonts / "Vera.ttf")))
    pdfmetrics.registerFont(TTFont("SlaVera-Bold", str(fonts / "VeraBd.ttf")))
    return family("SlaVera", "SlaVera-Bold")


def _x(text: str) -> str:
    """Text for a ReportLab Paragraph (its markup is a small XML: escape it; no glyph for the warning sign)."""
    from xml.sax.saxutils import escape

    return escape(text.replace("⚠", "!"))


def _pieces(pieces: tuple[Piece, ...]) -> str:
    out = []
    for p in pieces:
        if p.kind == "filled":
            out.append(f'<font backColor="#ffe58a">{_x(p.text)}</font>')
        elif p.kind == "pause":
            out.append(f'<font color="#7a1fa2"><b>[{_x(p.text)}]</b></font>')
        else:
            out.append(_x(p.text))
    return " ".join(out)


def report_pdf(report: LearnerReport, path: str | Path) -> Path:
    """Write the report as an A4 PDF; returns the path. Pages are counted in `pages` of the returned doc."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, ListFlowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    with _lock:
        regular, bold = _fonts()
    base = ParagraphStyle("base", fontName=regular, fontSize=9, leading=11.3)
    small = ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor=colors.HexColor("#555555"))
    h1 = ParagraphStyle("h1", parent=base, fontName=bold, fontSize=15, leading=19, spaceAfter=2)
    h2 = ParagraphStyle("h2", parent=base, fontName=bold, fontSize=11.5, leading=15, spaceBefore=6, spaceAfter=2)
    h3 = ParagraphStyle("h3", parent=base, fontName=bold, fontSize=10, leading=13, spaceBefore=4)
    level = ParagraphStyle("level", parent=base, fontName=bold, fontSize=16, leading=20)
    alarm = ParagraphStyle("alarm", parent=base, fontName=bold, textColor=colors.HexColor("#b00020"),
                           borderColor=colors.HexColor("#b00020"), borderWidth=1.2, borderPadding=4,
                           spaceBefore=4, spaceAfter=8)
    said = ParagraphStyle("said", parent=base, fontSize=8, leading=10, backColor=colors.HexColor("#f5f5f5"),
                          borderPadding=3, spaceBefore=2, spaceAfter=2)

    def bullets(lines, numbered: bool = False, hollow: bool = False):
        start = "1" if numbered else ("○" if hollow else "•")
        return ListFlowable([Paragraph(_x(x), base) for x in lines], bulletType="1" if numbered else "bullet",
                            start=start, leftIndent=11, bulletFontName=regular, bulletFontSize=7)

    story = [Paragraph(_x(f"Speaking test report: {report.learner}"), h1),
             Paragraph(_x(report.made + (f" · {report.session}" if report.session else "")), small)]
    if not report.graded:
        story.append(Paragraph(_x(REPORT_NOT_GRADED), alarm))
    story += [Paragraph(_x(f"{report.overall_level}   score {report.overall_score} on 2.0–5.5"), level),
              Paragraph(_x(" ".join(x for x in (report.covers, report.overall_sure) if x)), small), Spacer(1, 3)]
    rows = [["Part", "Level", "Score", "How sure"]] + [
        [Paragraph(_x(s.title), base), Paragraph(_x(s.level), base), s.score,
         Paragraph(_x(s.sure or s.problem or "—"), base)] for s in report.parts]
    table = Table(rows, colWidths=[52 * mm, 42 * mm, 16 * mm, 70 * mm], repeatRows=1)
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), regular), ("FONTNAME", (0, 0), (-1, 0), bold),
                               ("FONTSIZE", (0, 0), (-1, -1), 9.5), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb"))]))
    story.append(table)
    if report.next_steps:
        story += [Paragraph("Next steps", h2), bullets(report.next_steps, numbered=True)]
    story.append(Paragraph("Your answers", h2))
    for s in report.parts:
        block = [Paragraph(_x(f"{s.title} · {s.level}"), h3)]
        if s.problem:
            block.append(Paragraph(_x(f"! {s.problem}"), base))
        if s.delivery:
            block.append(bullets(s.delivery))
        if s.language:
            block.append(bullets(s.language, hollow=True))
        for k, answer in enumerate(s.answers):
            number = f"<b>{k + 1}.</b> " if len(s.answers) > 1 else ""
            block.append(Paragraph(number + _pieces(answer), said))
        if not s.answers and s.no_transcript and s.delivery:
            block.append(Paragraph(_x(s.no_transcript), small))
        story += [KeepTogether(block[:2]), *block[2:]]  # the heading stays with what follows; no half-empty pages
    story += [Spacer(1, 6), Paragraph(_x(REPORT_FOOTER), small)]
    path = Path(path)
    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=13 * mm, rightMargin=13 * mm, topMargin=12 * mm,
                            bottomMargin=13 * mm, title=f"{report.learner}: speaking test report",
                            author="SLA demo")
    doc.build(story)
    return path


def pdf_pages(path: str | Path) -> int:
    """How many pages a PDF written here has (its page objects; enough for our own files)."""
    import re

    return len(re.findall(rb"/Type\s*/Page(?![s\w])", Path(path).read_bytes()))
