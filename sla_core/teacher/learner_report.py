"""A printable report for one learner: what they can take home from a feedback session.

`build_report` turns an Assessment into a `LearnerReport` (plain records, no markup): the levels with how
sure each is, each part's delivery and language-use facts in words, the transcript of each answer with its
filled pauses and long pauses marked in place, and two or three next steps built from the measured facts.
`report_html` writes it as one self-contained HTML page that prints to A4; `learner_pdf.report_pdf` writes
the same records as a PDF. No gradio here: the app only hands the files to the teacher.

Honesty: "not a grade" stays on the report while any score rests on an untrained grader, and a transcript
is shown only when every answer of the part was measured from trusted words (never the offline test
model's random ones). A long pause has no word times to sit between (the transcribers give none), so it
is placed by its share of the answer's syllable nuclei against the words' syllables: roughly where it was,
marked "≈".
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ..assessment import Assessment, PartAssessment
from ..delivery.feedback import LATE_START_SECONDS, clock, part_feedback
from ..delivery.measures import AnswerDelivery
from ..language.feedback import language_feedback
from ..language.measures import is_filled_pause, words_of
from ..parts import PARTS, part_info
from . import ui_text
from .result_view import DASH, interval_text, pooled_language, provisional, spread_text

SHORT_ANSWER_SHARE = 0.5  # speaking under this share of the task's time is worth a next step
FILLED_PER_100 = 3.0  # filled pauses per 100 words worth a next step (a listener hears one every ~30 words)
REPEATS_PER_100 = 2.0  # repetitions per 100 words worth a next step
MAX_STEPS = 3


@dataclass(frozen=True)
class Piece:
    """One piece of a marked transcript: a word as said, a filled pause, or a long pause between words."""

    kind: str  # "word" | "filled" | "pause"
    text: str  # the word as written, or "≈1.4 s pause"


@dataclass(frozen=True)
class PartSection:
    part: int
    title: str
    level: str  # "B1 (not a grade)", or the problem's short form
    score: str  # "3.42" or "—"
    sure: str  # the interval in words, the model's spread, or ""
    problem: str
    delivery: tuple[str, ...]
    language: tuple[str, ...]
    answers: tuple[tuple[Piece, ...], ...]  # marked transcript per answer; () when none is shown
    no_transcript: str = ""  # why no transcript is shown


@dataclass(frozen=True)
class LearnerReport:
    learner: str
    made: str  # the date of the assessment
    session: str
    graded: bool
    overall_level: str
    overall_score: str
    overall_sure: str
    covers: str
    parts: tuple[PartSection, ...]
    next_steps: tuple[str, ...]


def build_report(a: Assessment, session: str = "") -> LearnerReport:
    """The report's content, from one assessment (and the session's name, when it has one)."""
    level = a.overall_cefr or DASH
    if a.overall_cefr and not a.graded:
        level = f"{level} ({ui_text.NOT_A_GRADE})"
    covers = (provisional(a) or ui_text.FULL_OVERALL.format(covered=", ".join(map(str, a.covered_parts)))
              if a.overall is not None else ui_text.NO_OVERALL)
    return LearnerReport(
        learner=a.learner or "Learner", made=(a.created or date.today().isoformat())[:10], session=session,
        graded=a.graded, overall_level=level, overall_score=DASH if a.overall is None else f"{a.overall:.2f}",
        overall_sure=interval_text(a.overall_interval, sentence=True), covers=covers,
        parts=tuple(_section(a.part(p), p) for p in PARTS if a.part(p) is not None), next_steps=next_steps(a))


def _section(pa: PartAssessment, part: int) -> PartSection:
    title = part_info(part).title
    if not pa.ok:
        return PartSection(part, title, DASH, DASH, "", pa.problem or ui_text.PART_STATUS.get(pa.status, pa.status),
                           (), (), ())
    level = pa.cefr or DASH
    if not pa.graded:
        level = f"{level} ({ui_text.NOT_A_GRADE})"
    lang = pa.language
    shown = lang is not None and lang.answers == len(pa.transcripts) and pa.delivery is not None
    answers = tuple(mark_transcript(t or "", d) for t, d in zip(pa.transcripts, pa.delivery.answers)) if shown else ()
    why = "" if shown else ("No transcript from a trusted transcriber: the offline test model's words are not shown."
                            if pa.transcripts else "No transcript.")
    return PartSection(part, title, level, f"{pa.score:.2f}", interval_text(pa.interval) or spread_text(pa),
                       pa.problem or "", part_feedback(pa.delivery), language_feedback(lang), answers, why)


def syllables(word: str) -> int:
    """A rough syllable count of a written word (vowel groups, a silent final e): only to place pauses."""
    w = word.lower()
    groups = len(re.findall(r"[aeiouy]+", w))
    if w.endswith("e") and not w.endswith(("le", "ee")) and groups > 1:
        groups -= 1
    return max(groups, 1) if re.search(r"[a-z]", w) else 0


def mark_transcript(text: str, delivery: AnswerDelivery) -> tuple[Piece, ...]:
    """The answer's words with filled pauses marked and each long pause placed where it roughly was.

    A pause at time t lies after the share of the answer's syllable nuclei heard before t; it is put at
    the word boundary whose share of the words' syllables is nearest (module docstring).
    """
    tokens = text.split()
    pieces = [Piece("filled" if (w := words_of(tok)) and all(is_filled_pause(x) for x in w) else "word", tok)
              for tok in tokens]
    weights = [syllables(t) for t in tokens]
    total = sum(weights)
    if len(tokens) < 2 or not total or not delivery.long_pauses:
        return tuple(pieces)
    cumulative, run = [], 0
    for w in weights[:-1]:
        run += w
        cumulative.append(run / total)  # share of syllables said before the boundary after token k
    spoken = delivery.nuclei
    at: dict[int, list[float]] = {}
    for start, length in delivery.long_pauses:
        if spoken:
            share = sum(t < start for t in spoken) / len(spoken)
        else:  # no nuclei: the share of speaking time before the pause
            before = sum(min(b, start) - a for a, b in delivery.segments if a < start)
            share = before / max(delivery.speaking_s, 1e-9)
        k = min(range(len(cumulative)), key=lambda i: abs(cumulative[i] - share))
        at.setdefault(k, []).append(length)
    out: list[Piece] = []
    for k, piece in enumerate(pieces):
        out.append(piece)
        for length in at.get(k, ()):
            out.append(Piece("pause", f"≈{length:.1f} s pause"))
    return tuple(out)


def next_steps(a: Assessment) -> tuple[str, ...]:
    """Two or three things to practise, each from a measured fact of this learner's answers.

    In order of use: an answer much shorter than the task, the part with the most long pauses, a late
    start, filled pauses, repetitions; then the vocabulary profile and the longest pause as fallbacks.
    """
    done = [pa for pa in a.parts if pa.ok and pa.delivery is not None and pa.delivery.answers]
    steps: list[str] = []
    short = [(pa.delivery.speaking_s / (part_info(pa.part).answer_seconds * len(pa.delivery.answers)), pa)
             for pa in done if part_info(pa.part).max_answers == 1]
    short = [(share, pa) for share, pa in short if share < SHORT_ANSWER_SHARE]
    if short:
        share, pa = min(short, key=lambda x: x[0])
        steps.append(f"Speak for longer in {part_info(pa.part).title}: you spoke for {pa.delivery.speaking_s:.0f} s "
                     f"of the about {part_info(pa.part).answer_seconds:.0f} s the task gives. Give a reason and an "
                     "example for each point you make.")
    paused = [pa for pa in done if pa.delivery.n_long_pauses]
    if paused:
        pa = max(paused, key=lambda x: x.delivery.n_long_pauses / max(x.delivery.span_s, 1e-9))
        i, start, length = pa.delivery.longest_pause
        where = f"answer {i + 1} at {clock(start)}" if len(pa.delivery.answers) > 1 else clock(start)
        steps.append(f"Keep going through the pauses in {part_info(pa.part).title}: {pa.delivery.n_long_pauses} "
                     f"lasted 1 s or more (the longest {length:.1f} s, {where}). Practise the answer again and fill a "
                     "gap with a phrase such as 'let me think' or 'what I mean is'.")
    late = [(ans.start_s, pa, k) for pa in done for k, ans in enumerate(pa.delivery.answers)
            if ans.start_s >= LATE_START_SECONDS]
    if late:
        start, pa, k = max(late, key=lambda x: x[0])
        which = f", answer {k + 1}" if len(pa.delivery.answers) > 1 else ""
        steps.append(f"Start speaking sooner: in {part_info(pa.part).title}{which} you waited {start:.1f} s. "
                     "Begin with the question's own words while you think.")
    lang = pooled_language(a)
    if lang is not None and (rate := lang.per_100(lang.filled_pauses)) is not None and rate >= FILLED_PER_100:
        steps.append(f"You said 'um' or 'uh' {rate:.1f} times per 100 words. Record one answer again and listen for "
                     "them; a short silence sounds more sure than a filled pause.")
    if lang is not None and (rate := lang.per_100(lang.repetitions)) is not None and rate >= REPEATS_PER_100:
        steps.append(f"You repeated a word or phrase straight away {rate:.1f} times per 100 words. Plan the first "
                     "words of each sentence before you say them.")
    if len(steps) < 2 and lang is not None and lang.b1_or_above is not None:
        steps.append(f"Widen your vocabulary: {lang.b1_or_above:.0%} of your words are at B1 or above on the CEFR "
                     "word list. Note three new B1-B2 words for each topic and use them when you practise.")
    if len(steps) < 2 and done:
        pa = max(done, key=lambda x: x.delivery.longest_pause[2] if x.delivery.longest_pause else 0.0)
        if pa.delivery.longest_pause:
            i, start, length = pa.delivery.longest_pause
            steps.append(f"Listen to {part_info(pa.part).title} at {clock(start)}"
                         f"{f' in answer {i + 1}' if len(pa.delivery.answers) > 1 else ''}, where you paused longest "
                         f"({length:.1f} s), and say that sentence again without stopping.")
    return tuple(steps[:MAX_STEPS])


# -- HTML ------------------------------------------------------------------------------------------------------

CSS = """
@page { size: A4; margin: 12mm 13mm 13mm; }
* { box-sizing: border-box; }
body { font: 9pt/1.28 system-ui, "DejaVu Sans", Arial, sans-serif; color: #111; max-width: 184mm; margin: 0 auto; }
h1 { font-size: 16pt; margin: 0 0 2mm; } h2 { font-size: 12pt; margin: 4mm 0 1.5mm; }
h3 { font-size: 10pt; margin: 2.5mm 0 0.5mm; break-after: avoid; }
b { break-after: avoid; }
.meta { color: #444; margin-bottom: 2mm; }
.banner { border: 1.5pt solid #b00020; color: #b00020; padding: 1.5mm 3mm; font-weight: 600; margin: 2mm 0; }
.overall { display: flex; gap: 6mm; align-items: baseline; flex-wrap: wrap; }
.overall .level { font-size: 18pt; font-weight: 700; }
table.levels { border-collapse: collapse; width: 100%; margin: 1mm 0 2mm; }
table.levels th, table.levels td { border-bottom: 0.5pt solid #bbb; padding: 0.8mm 1.5mm; text-align: left;
  vertical-align: top; }
section.part { margin-bottom: 2mm; }
ul { margin: 0.3mm 0 0.8mm 4.5mm; padding: 0; } li { margin: 0.1mm 0; }
li.words { list-style: circle; }
.transcript { margin: 1mm 0 0; padding: 1mm 2mm; background: #f5f5f5; font-size: 8pt; line-height: 1.25; }
.transcript p { margin: 0.5mm 0; }
.filled { background: #ffe58a; padding: 0 0.5mm; }
.pause { color: #7a1fa2; font-weight: 600; white-space: nowrap; }
.steps li { margin-bottom: 1mm; }
.foot { color: #555; font-size: 8.5pt; margin-top: 3mm; border-top: 0.5pt solid #bbb; padding-top: 1mm; }
@media screen { body { margin: 8mm auto; } }
"""


def _pieces_html(pieces: Sequence[Piece]) -> str:
    e = html.escape
    out = []
    for p in pieces:
        if p.kind == "filled":
            out.append(f'<span class="filled">{e(p.text)}</span>')
        elif p.kind == "pause":
            out.append(f'<span class="pause">[{e(p.text)}]</span>')
        else:
            out.append(e(p.text))
    return " ".join(out)


def report_html(r: LearnerReport) -> str:
    """One self-contained HTML page (no script, no external file) that prints to A4."""
    e = html.escape
    banner = "" if r.graded else f'<div class="banner" role="alert">{e(REPORT_NOT_GRADED)}</div>'
    session = f" · {e(r.session)}" if r.session else ""
    rows = "".join(f"<tr><td>{e(s.title)}</td><td>{e(s.level)}</td><td>{e(s.score)}</td>"
                   f"<td>{e(s.sure or s.problem or DASH)}</td></tr>" for s in r.parts)
    sections = []
    for s in r.parts:
        body = []
        if s.problem:
            body.append(f"<p>⚠ {e(s.problem)}</p>")
        facts = [f'<li class="spoke">{e(x)}</li>' for x in s.delivery] + [f'<li class="words">{e(x)}</li>'
                                                                          for x in s.language]
        if facts:
            body.append(f"<ul>{''.join(facts)}</ul>")
        if s.answers:
            said = "".join(f"<p>{f'<b>{k + 1}.</b> ' if len(s.answers) > 1 else ''}{_pieces_html(a)}</p>"
                           for k, a in enumerate(s.answers))
            body.append(f'<div class="transcript" data-testid="transcript">{said}</div>')
        elif s.no_transcript and s.delivery:
            body.append(f'<p class="meta">{e(s.no_transcript)}</p>')
        sections.append(f'<section class="part" data-part="{s.part}"><h3>{e(s.title)} · {e(s.level)}</h3>'
                        f'{"".join(body)}</section>')
    steps = "".join(f"<li>{e(x)}</li>" for x in r.next_steps)
    steps_html = f'<h2>Next steps</h2><ol class="steps" data-testid="next-steps">{steps}</ol>' if steps else ""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{e(r.learner)}: speaking test report'
        f'</title><style>{CSS}</style></head><body>'
        f'<h1>Speaking test report: {e(r.learner)}</h1><div class="meta">{e(r.made)}{session}</div>{banner}'
        f'<div class="overall"><span class="level" data-testid="overall-level">{e(r.overall_level)}</span>'
        f'<span>score {e(r.overall_score)} on 2.0–5.5</span></div>'
        f'<div class="meta">{e(r.covers)}{" " + e(r.overall_sure) if r.overall_sure else ""}</div>'
        f'<table class="levels"><tr><th>Part</th><th>Level</th><th>Score</th><th>How sure</th></tr>{rows}</table>'
        f'{steps_html}<h2>Your answers</h2>{"".join(sections)}'
        f'<div class="foot">{e(REPORT_FOOTER)}</div></body></html>')


REPORT_NOT_GRADED = ("Not a grade: these levels come from models without trained weights. They show how the "
                     "assessment works, not what the learner can do.")
REPORT_FOOTER = ("Under each part: filled bullets say how you spoke, open bullets the words you used. Delivery is measured from the recordings (voice activity, syllable nuclei); language use from "
                 "the transcript (CEFR word list cefrpy, MTLD). Marked in the transcripts: 'um'/'uh' highlighted, "
                 "[≈ pause] where a pause of 1 s or more roughly fell. Counted, not graded: no measure here has a "
                 "CEFR norm.")

