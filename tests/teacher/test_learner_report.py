"""The learner's printable report (issue 26 item 4): content from the measured facts, marked transcripts, honest
labels, one or two A4 pages (in Chromium's print and in the PDF), a class zip, and only the teacher's own."""

from __future__ import annotations

import re
import zipfile
from dataclasses import replace
from pathlib import Path

import gradio as gr
import pytest

from sla_core.delivery.measures import PartDelivery, measure_answer
from sla_core.language import language_use
from sla_core.parts import PARTS, part_info
from sla_core.results.store import ResultStore
from sla_core.teacher.handlers import Handlers
from sla_core.teacher.learner_pdf import pdf_pages, report_pdf
from sla_core.teacher.learner_report import build_report, mark_transcript, report_html
from sla_core.teacher.report_files import save_class_reports
from sla_core.testing.assessments import sample_assessment, with_intervals

CHROMIUM = "/usr/bin/chromium"
SENTENCE = ("I think that living in a big city is exciting because there are many museums and restaurants, um, "
            "and the the transport is convenient, but the environment is often polluted and noisy.")


def _answer(seconds: float, pauses=((3.0, 1.3),), rate: float = 3.5):
    """A measured answer of `seconds` with the given (start, length) pauses and evenly spread syllables."""
    edges = [0.5] + [x for t, g in pauses for x in (t, t + g)] + [seconds - 0.5]
    segments = list(zip(edges[::2], edges[1::2]))
    n = round(rate * (seconds - 1))
    return measure_answer(seconds, segments, [0.5 + (seconds - 1) * (i + 0.5) / n for i in range(n)])


WORDS_PER_SECOND = 2.5  # a fluent learner (B2-C1) keeping going for the whole answer time: a long report


def full_learner(name: str = "Maria S.", trusted: bool = True, graded: bool = False):
    """Every answer of the real test at its full length (the longest report): 6 + 1 + 1 + 5 answers."""
    a = sample_assessment(name, state="trained" if graded else "untrained")
    parts = []
    for pa in a.parts:
        k, seconds = part_info(pa.part).max_answers, part_info(pa.part).answer_seconds
        words = " ".join((SENTENCE.split() * 10)[:round(WORDS_PER_SECOND * seconds)])
        texts = (words,) * k
        delivery = PartDelivery(tuple(_answer(seconds, ((seconds / 3, 1.3), (2 * seconds / 3, 0.6))) for _ in range(k)))
        parts.append(replace(pa, transcripts=texts, durations=(seconds,) * k, delivery=delivery,
                             language=language_use(texts, "given") if trusted else None))
    return replace(a, parts=tuple(parts))


def test_the_report_says_the_levels_how_sure_and_what_was_measured():
    a = with_intervals(full_learner(graded=True))
    page = report_html(build_report(a, "3B March"))
    assert "Maria S." in page and "3B March" in page and "Not a grade" not in page
    assert f">{a.overall_cefr}<" in page and "90% interval" in page
    assert page.count('<section class="part"') == 4
    assert "You spoke for" in page and "listed words are at B1 or above" in page and "Lexical diversity (MTLD)" in page
    assert "<script" not in page and "http" not in page  # self-contained: prints offline, calls nothing


def test_not_a_grade_stays_while_the_graders_are_untrained():
    page = report_html(build_report(full_learner(graded=False)))
    assert "Not a grade" in page and "(not a grade)" in page


def test_the_transcript_marks_filled_pauses_and_long_pauses_in_place():
    # 10 one-syllable words over 10 evenly spread nuclei, a 1.5 s pause after the 6th nucleus: after the 6th word.
    delivery = measure_answer(12.0, [(0.5, 6.0), (7.5, 11.5)], [0.75 + 0.5 * i for i in range(6)]
                              + [7.75 + i for i in range(4)])
    pieces = mark_transcript("one two three um four five six seven eight nine", delivery)
    kinds = [(p.kind, p.text) for p in pieces]
    assert ("filled", "um") in kinds
    assert kinds.index(("pause", "≈1.5 s pause")) == kinds.index(("word", "six")) + 1
    page = report_html(build_report(full_learner()))
    assert '<span class="filled">um,</span>' in page and '<span class="pause">[≈1.3 s pause]</span>' in page


def test_no_transcript_is_shown_from_an_untrusted_transcriber():
    report = build_report(full_learner(trusted=False))
    assert all(s.answers == () for s in report.parts)
    assert "offline test model&#x27;s words are not shown" in report_html(report)
    assert SENTENCE[:30] not in report_html(report)


def test_two_or_three_next_steps_built_from_the_facts():
    steps = build_report(full_learner()).next_steps
    assert 2 <= len(steps) <= 3
    assert any("lasted 1 s or more" in s for s in steps)  # every part has a 1.3 s pause
    assert any("'um' or 'uh'" in s or "repeated" in s for s in steps)
    quiet = sample_assessment("Ben")
    quiet = replace(quiet, parts=tuple(replace(pa, delivery=PartDelivery((_answer(20.0, ((5.0, 0.4),)),)),
                                               language=language_use(["I like my town very much."], "given"))
                                       for pa in quiet.parts))
    steps = build_report(quiet).next_steps
    assert len(steps) >= 2 and any(s.startswith("Speak for longer in Part 3") for s in steps)


def test_the_pdf_of_the_longest_report_fits_on_two_a4_pages(tmp_path):
    path = report_pdf(build_report(full_learner()), tmp_path / "r.pdf")
    assert path.read_bytes().startswith(b"%PDF") and 1 <= pdf_pages(path) <= 2
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in path.read_bytes()  # A4 in points


@pytest.mark.browser
@pytest.mark.slow  # ~8 s: starts Chromium
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)")
def test_the_page_prints_on_one_or_two_a4_pages_in_chromium(tmp_path):
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "report.html"
    page_file.write_text(report_html(build_report(full_learner())), encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(page_file.as_uri())
            pdf = page.pdf(format="A4", print_background=True)
        finally:
            browser.close()
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))
    assert 1 <= pages <= 2, f"{pages} A4 pages"


def test_a_class_downloads_as_one_zip_with_every_learner(tmp_path):
    results = [full_learner("Ana"), full_learner("Ana"), full_learner("../Ben")]
    path = save_class_reports(results, tmp_path, "3B March")
    names = sorted(zipfile.ZipFile(path).namelist())
    assert names == ["report_Ana.html", "report_Ana.pdf", "report_Ana_2.html", "report_Ana_2.pdf",
                     "report____Ben.html", "report____Ben.pdf"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports_3B_March.zip"]  # no loose copies left
    assert path.stat().st_mode & 0o077 == 0


def test_the_class_reports_are_the_teachers_own(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    handlers = Handlers(lambda s, p=None: None, lambda: (), store, workdir=tmp_path / "work", login=True)
    ana = store.as_owner("ana")
    session = ana.new_session("3B", "class", "upload")
    ana.add(session, full_learner("Maria"))
    zipped = Path(handlers.class_reports(session, request=type("R", (), {"username": "ana"})()))
    assert zipfile.ZipFile(zipped).namelist()
    # ana's own download (sla_core.teacher.downloads): served to her alone, never to ben or to no one logged in
    assert handlers.downloads.may_read(zipped, "ana") and not handlers.downloads.may_read(zipped, "ben")
    assert not handlers.downloads.may_read(zipped, "")
    with pytest.raises(gr.Error, match="not among your saved sessions"):
        handlers.class_reports(session, request=type("R", (), {"username": "ben"})())
    with pytest.raises(gr.Error, match="Choose a session"):
        handlers.class_reports(None, request=type("R", (), {"username": "ana"})())
    assert all(PARTS)
