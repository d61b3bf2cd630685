"""An Assessment as a teacher reads it in the app: the summary card, the per-part table, class rows.

Pure functions of `Assessment` / `GraderInfo` (no gradio); the CSV export (`sla_core.results.export`)
shares the transcript formatting, so the page and the download show the same text. HTML is built here with every dynamic value escaped; the app only places it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from ..assessment import TRAINED, UNTRAINED, Assessment, GraderInfo, PartAssessment, ScoreInterval
from ..calibration.apply import NOT_HELPING, evidence_said
from ..cefr import GRID, LABELS, LEVEL_NAMES, cefr_label
from ..checks import checks_summary, shared_recordings
from ..intervals import model_spread
from ..delivery.feedback import class_standing, part_feedback
from ..delivery.measures import PartDelivery
from ..language.feedback import language_feedback, language_numbers
from ..language.measures import PartLanguage
from ..parts import PARTS, part_info
from ..results.export import source_label as public_source
from ..results.export import transcript_text
from . import ui_text

DASH = "—"
GRADERS = ("speech", "mllm")  # the GraderInfo names that score; fusion, ASR and calibration do not

# Per-part table: one row per part, in PARTS order. Short cells only, so it fits a laptop's width and its rows
# stay one or two lines; each part's transcript and how its score was made are words under it (part_notes_html).
PART_COLUMNS = ("Part", "Status", "Speech grader", "Multimodal grader", "Fusion weight", "Part score", "CEFR",
                "How sure")

# Class table: one row per learner; numbers stay numbers so the table sorts numerically.
# "Coverage" starts with "complete" or "provisional", so sorting by it puts partial learners apart.
# "Review" is the number of reasons to listen (0: none), so sorting it puts the learners to check first.
# The language-use columns pool every part with a trusted transcript (blank without one).
CLASS_COLUMNS = ("Learner", "Overall", "CEFR", "Coverage", "Part 1", "Part 3", "Part 4", "Part 5", "Graded",
                 "Review", "Spoke (s)", "Syllables/s", "Long pauses", "Speech rate in class", "Words", "MTLD",
                 "B1+ words %", "Fillers /100 words", "Repeats /100 words", "Problems")


def _num(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def _fmt(value: float | None, digits: int = 2) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


def _parts_list(parts: Sequence[int]) -> str:
    return ", ".join(str(p) for p in parts)


def _parts_phrase(parts: Sequence[int]) -> str:
    """"Part 3" or "Parts 1, 4, 5": the noun agrees with the count."""
    return f"Part{'s' if len(parts) > 1 else ''} {_parts_list(parts)}"


def answers_scored(pa: PartAssessment | None) -> int | None:
    """How many answers a part's score rests on (0 when it has none); None when a saved result does not say."""
    if pa is None or not pa.ok:
        return 0
    return len(pa.durations) or len(pa.transcripts) or None


def answers_text(pa: PartAssessment | None, part: int) -> str:
    """"2 of 6 answers" for the multi-answer parts; "" for a one-answer part or when unknown."""
    most, done = part_info(part).max_answers, answers_scored(pa)
    if most == 1 or done is None:
        return ""
    return ui_text.ANSWERS_OF.format(k=done, n=most)


def provisional(assessment: Assessment) -> str | None:
    """Why an overall is provisional ("provisional: 2 of 4 parts"), or None when it rests on the whole test.

    An overall that leaves out a part, or a part scored on fewer answers than the test asks for, is not the
    same claim as a complete one: it says so wherever the overall is shown (card, class table, CSV reader).
    """
    if assessment.overall is None:
        return None
    covered = assessment.covered_parts
    if len(covered) < len(PARTS):
        return ui_text.PROVISIONAL_PARTS.format(k=len(covered), n=len(PARTS))
    short = [(p, k) for p in covered if (k := answers_scored(assessment.part(p))) is not None
             and k < part_info(p).max_answers]
    if short:
        return ui_text.PROVISIONAL_ANSWERS.format(answers="; ".join(
            f"Part {p} on {ui_text.ANSWERS_OF.format(k=k, n=part_info(p).max_answers)}" for p, k in short))
    return None


def coverage_text(assessment: Assessment) -> str:
    """The class table's Coverage cell: "complete (1, 3, 4, 5)" or "provisional: 3 of 4 parts (1, 3, 5)"."""
    if assessment.overall is None:
        return ui_text.NOT_ASSESSED
    why = provisional(assessment)
    return f"{why or ui_text.COMPLETE} ({_parts_list(assessment.covered_parts)})"


def interval_text(iv: ScoreInterval | None, sentence: bool = False) -> str:
    """A fitted interval in words ("90% interval: 3.10–3.90 (B1 to B2)"), or why there is none; "" for None."""
    if iv is None:
        return ""
    if not iv.available:
        return ui_text.INTERVAL_NONE.format(note=iv.note)
    words = ui_text.INTERVAL_SENTENCE if sentence else ui_text.INTERVAL_WORDS
    text = words.format(coverage=iv.coverage, low=iv.low, high=iv.high, low_cefr=cefr_label(iv.low),
                        high_cefr=cefr_label(iv.high))
    return text + (ui_text.INTERVAL_BOUND if iv.method == "bound" else "")


def spread_text(pa: PartAssessment) -> str:
    """The multimodal grader's own spread, labelled as such; shown only where no fitted interval exists."""
    spread = model_spread(pa.mllm.distribution if pa.mllm else None, GRID)
    return "" if spread is None else ui_text.MODEL_SPREAD.format(low=spread[0], high=spread[1])


def how_sure(pa: PartAssessment) -> str:
    """The part table's "How sure" cell: the fitted interval, else the model's own spread, else a dash."""
    return interval_text(pa.interval) or (spread_text(pa) if pa.ok else "") or DASH


def part_rows(assessment: Assessment) -> list[list[str]]:
    """Rows of the per-part table (PART_COLUMNS), as display strings.

    Untrained results keep their numbers (they explain what the app does) but the CEFR cell says
    "not a grade", so a glance at the table never reads a random head as a level.
    """
    rows = []
    for p in PARTS:
        pa = assessment.part(p) or PartAssessment(part=p, status="missing", problem=f"Part {p}: no recording was given.")
        cefr = pa.cefr or DASH
        if pa.cefr and not pa.graded:
            cefr = f"{pa.cefr} ({ui_text.NOT_A_GRADE})"
        rows.append([
            part_info(p).title,
            " ".join(x for x in (ui_text.PART_STATUS.get(pa.status, pa.status),
                                 f"({answers_text(pa, p)})" if pa.ok and answers_text(pa, p) else "") if x),
            _fmt(pa.speech.score if pa.speech else None),
            _fmt(pa.mllm.score if pa.mllm else None),
            _fmt(pa.fusion_weight),
            _fmt(pa.score),
            cefr,
            how_sure(pa),
        ])
    return rows


def transcriber_note(assessment: Assessment) -> str:
    """Why the transcripts read as they do when no real speech recogniser made them ("" when one did).

    A random transcriber (the offline test model, `--tiny`) writes random tokens, often unreadable or nothing at
    all; without any transcriber there is no transcript. Told once, above the transcripts, so "—" or a row of odd
    characters is never taken for what the learner said.
    """
    infos = {i.name: i for i in assessment.graders}
    asr = infos.get("asr") or (infos.get("mllm") if "mllm" in infos else None)  # without ASR, Phi-4 transcribes
    if asr is None or asr.note.startswith("not loaded"):
        return ui_text.NO_TRANSCRIBER
    return ui_text.RANDOM_TRANSCRIBER if asr.state == UNTRAINED else ""


def part_notes_html(assessment: Assessment) -> str:
    """Under the part table, per part: what the learner said (the transcripts) and how the score was made, with
    any problem; the transcriber's note first when its transcripts are not real words."""
    e = html.escape
    items = []
    for p in PARTS:
        pa = assessment.part(p)
        if pa is None:
            continue
        lines = []
        if pa.problem:
            lines.append(f'<p class="sla-chip-problem">⚠ {e(pa.problem)}</p>')
        if pa.ok:
            said = transcript_text(pa.transcripts) or DASH
            lines.append(f"<p><b>{e(ui_text.NOTES_TRANSCRIPT)}</b> {e(said)}</p>")
        if pa.basis:
            lines.append(f"<p><b>{e(ui_text.NOTES_BASIS)}</b> {e(pa.basis)}</p>")
        if pa.checks:  # what each answer check measured (sla_core.checks), failed or not
            lines.append(f"<p>{e(ui_text.CHECKS_NOTE.format(summary=checks_summary(pa.checks)))}</p>")
        if lines:
            items.append(f'<div class="sla-notes-part" data-part="{p}"><div class="sla-chip-title">'
                         f'{e(part_info(p).title)}</div>{"".join(lines)}</div>')
    if not items:
        return ""
    note = transcriber_note(assessment) if any(pa.ok for pa in assessment.parts) else ""
    note = f'<p class="sla-delivery-note" data-testid="transcriber-note">{e(note)}</p>' if note else ""
    return (f'<div class="sla-part-notes" data-testid="part-notes"><h3>{e(ui_text.NOTES_HEADING)}</h3>{note}'
            f'{"".join(items)}</div>')


def class_row(assessment: Assessment, standing: str = "", shared: Sequence[str] = ()) -> list:
    """One learner's row of the class table (CLASS_COLUMNS); numbers as floats (None when absent).

    Delivery columns pool every assessed part's answers; `standing` is the learner's place in the class
    (from `class_rows`, which sees the whole class), `shared` its recordings another learner also gave.
    """
    scores = {p: (assessment.part(p).score if assessment.part(p) and assessment.part(p).ok else None) for p in PARTS}
    problems = " ".join([pa.problem for pa in assessment.parts if pa.problem] + _grouped(_new_reasons(assessment)) + list(shared))
    cefr = assessment.overall_cefr or DASH
    if assessment.overall_cefr and not assessment.graded:
        cefr = f"{cefr} ({ui_text.NOT_A_GRADE})"
    delivery, lang = pooled_delivery(assessment), pooled_language(assessment)
    return [
        assessment.learner or DASH,
        _num(assessment.overall),
        cefr,
        coverage_text(assessment),
        *(_num(scores[p]) for p in PARTS),
        "yes" if assessment.graded else "no",
        len(assessment.review),
        _num(delivery.speaking_s, 1) if delivery else None,
        _num(delivery.speech_rate) if delivery else None,
        delivery.n_long_pauses if delivery else None,
        standing or DASH,
        lang.words if lang else None,
        lang.mtld if lang else None,
        _num(100 * lang.b1_or_above, 0) if lang and lang.b1_or_above is not None else None,
        lang.per_100(lang.filled_pauses) if lang else None,
        lang.per_100(lang.repetitions) if lang else None,
        problems or DASH,
    ]


def _new_reasons(assessment: Assessment) -> list[str]:
    """Review reasons the class row does not already show (its problems and its "Coverage" cell)."""
    shown = ("The overall covers", "No part could be scored")
    shown += tuple(f"Part {pa.part} is missing" for pa in assessment.parts if pa.status == "missing")
    shown += tuple(f"Part {pa.part}'s answers were rejected" for pa in assessment.parts if pa.status == "rejected")
    shown += tuple(f"Part {pa.part} is not assessable" for pa in assessment.parts if pa.status == "not_assessable")
    return [r for r in assessment.review if not r.startswith(shown)]


def _grouped(reasons: Sequence[str]) -> list[str]:
    """Part reasons that say the same thing, told once with their parts: "Parts 1, 3, 5: too little speech." in
    place of three sentences that differ only in their figures (a class row stays a line or two; the learner's
    card keeps every figure). A reason is "the same" up to its first bracket."""
    groups: dict[str, list[int]] = {}
    out: list[str | tuple[str, list[int]]] = []
    for reason in reasons:
        head, sep, rest = reason.partition(": ")
        if sep and head.startswith("Part ") and head[5:].isdigit():
            key = rest.split(" (")[0].rstrip(".")
            if key not in groups:
                groups[key] = []
                out.append((key, groups[key]))
            groups[key].append(int(head[5:]))
        else:
            out.append(reason)
    return [r if isinstance(r, str) else (r[0][0].upper() + r[0][1:] + f" ({_parts_phrase(r[1])})." if len(r[1]) > 1
                                          else f"Part {r[1][0]}: {r[0]}.") for r in out]


def pooled_delivery(assessment: Assessment) -> PartDelivery | None:
    """Every assessed part's answers as one delivery record (None when nothing was measured)."""
    answers = tuple(a for pa in assessment.parts if pa.ok and pa.delivery for a in pa.delivery.answers)
    return PartDelivery(answers) if answers else None


def pooled_language(assessment: Assessment) -> PartLanguage | None:
    """Every assessed part's language use as one record (counts added; MTLD the words-weighted mean of the
    parts that have one), or None when no part was measured."""
    parts = [pa.language for pa in assessment.parts if pa.ok and pa.language is not None]
    if not parts:
        return None
    with_mtld = [x for x in parts if x.mtld is not None]
    mtld = (round(sum(x.mtld * x.words for x in with_mtld) / sum(x.words for x in with_mtld), 1)
            if with_mtld else None)
    return PartLanguage(
        source="given" if all(x.source == "given" for x in parts) else "asr", answers=sum(x.answers for x in parts),
        words=sum(x.words for x in parts), filled_pauses=sum(x.filled_pauses for x in parts),
        repetitions=sum(x.repetitions for x in parts), levels=tuple(map(sum, zip(*(x.levels for x in parts)))),
        mtld=mtld)


def class_rows(assessments: Sequence[Assessment], order: str | None = None) -> list[list]:
    """The class table's rows, in `order` (a key of ui_text.SORT_ORDERS; None or "assessed": as assessed).

    "complete_first" puts complete tests first, then those short of answers, then those missing parts,
    then learners with no score; best overall first within each group. Each learner's speech rate is
    placed among this class's (computed here, never stored).
    """
    def high(a: Assessment) -> float:
        return -a.overall if a.overall is not None else float("inf")

    def completeness(a: Assessment) -> int:
        if a.overall is None:
            return 3
        return 0 if provisional(a) is None else 1 if len(a.covered_parts) == len(PARTS) else 2

    keys = {
        "overall_high": high,
        "overall_low": lambda a: a.overall if a.overall is not None else float("inf"),
        "name": lambda a: (a.learner or "").casefold(),
        "complete_first": lambda a: (completeness(a), high(a)),
        "review_first": lambda a: (-len(a.review), high(a)),
    }
    rates = {id(a): (d.speech_rate if (d := pooled_delivery(a)) else None) for a in assessments}
    standing = class_standing(rates)
    shared = {id(a): s for a, s in zip(assessments, shared_recordings(assessments))}  # same recording, two learners
    ordered = sorted(assessments, key=keys[order]) if order in keys else assessments
    return [class_row(a, standing[id(a)], shared[id(a)]) for a in ordered]


# -- HTML ------------------------------------------------------------------------------------------

def summary_html(assessment: Assessment) -> str:
    """The result card: overall level and score, which parts it covers, one chip per part, honesty banner."""
    e = html.escape
    graded_cls = "" if assessment.graded else " sla-ungraded"
    banner = "" if assessment.graded else f'<div class="sla-banner" role="alert">{e(ui_text.NOT_GRADES_BANNER)}</div>'
    who = f'<div class="sla-learner">{e(assessment.learner)}</div>' if assessment.learner else ""
    if assessment.overall is None:
        overall = f'<div class="sla-overall"><div class="sla-level">{DASH}</div>' \
                  f'<div class="sla-cover">{e(ui_text.NO_OVERALL)}</div></div>'
    else:
        covered = _parts_list(assessment.covered_parts)
        missing = [p for p in PARTS if p not in assessment.covered_parts]
        why = provisional(assessment)
        if missing:
            cover = ui_text.PARTIAL_OVERALL.format(covered=_parts_phrase(assessment.covered_parts),
                                                   missing=_parts_phrase(missing))
        elif why:
            cover = ui_text.SHORT_OVERALL.format(covered=covered, why=why.split(": ", 1)[-1])
        else:
            cover = ui_text.FULL_OVERALL.format(covered=covered)
        level = assessment.overall_cefr or DASH
        tag = "" if assessment.graded else f' <span class="sla-tag">{e(ui_text.NOT_A_GRADE)}</span>'
        kicker = "Overall" if not why else (f'Overall · <span class="sla-provisional" data-testid="provisional">'
                                            f'{e(why)}</span>')
        overall = (
            f'<div class="sla-overall"><div class="sla-kicker">{kicker}</div>'
            f'<div class="sla-level" data-testid="overall-level">{e(level)}{tag}</div>'
            f'<div class="sla-score">score <b data-testid="overall-score">{assessment.overall:.2f}</b> '
            f'on 2.0–5.5 · {e(LEVEL_NAMES.get(level, ""))}</div>'
            f'<div class="sla-cover" data-testid="overall-covers">{e(cover)}</div>{_interval_div(assessment)}</div>'
        )
    chips = "".join(_part_chip(assessment.part(p), p) for p in PARTS)
    calibrated = calibration_html(assessment)
    review = ""
    if assessment.review:
        items = "".join(f"<li>{e(r)}</li>" for r in assessment.review)
        review = (f'<div class="sla-review" role="note" data-testid="review"><b>{ui_text.REVIEW_FLAG}</b> '
                  f'{e(ui_text.REVIEW_HEADING)}<ul>{items}</ul></div>')
    return (f'<div class="sla-card{graded_cls}" data-testid="summary">{banner}{who}{calibrated}'
            f'<div class="sla-summary">{overall}<div class="sla-chips">{chips}</div></div>{review}</div>')


def calibration_said(assessment: Assessment) -> tuple[str, bool] | None:
    """What the profile behind this result found on its own held-out check, in words, and whether it helped;
    None for an uncalibrated result (a result saved before profiles said so: words "", helped True)."""
    if not assessment.calibration:
        return None
    info = next((i for i in assessment.graders if i.name == "calibration"), None)
    return evidence_said(info) if info is not None else ("", True)


def calibration_html(assessment: Assessment) -> str:
    """The card's calibration line: the profile and what its evidence said; a warning when that evidence said it
    does not help (it may still be used, on the teacher's word, but no result made with it hides that)."""
    said = calibration_said(assessment)
    if said is None:
        return ""
    words, helped = said
    e = html.escape
    if helped:
        text = ui_text.CALIBRATED_WITH.format(name=assessment.calibration) + (
            ui_text.CALIBRATION_EVIDENCE.format(words=words) if words else "")
        return f'<div class="sla-calibrated" data-testid="calibration">{e(text)}</div>'
    text = ui_text.CALIBRATED_NOT_HELPING.format(name=assessment.calibration, words=words)
    return f'<div class="sla-calibrated sla-calibrated-warn" data-testid="calibration" role="note">⚠ {e(text)}</div>'


def _interval_div(assessment: Assessment) -> str:
    iv = assessment.overall_interval
    text = "" if iv is None else (f'<div class="sla-interval" data-testid="overall-interval">'
                                  f'{html.escape(interval_text(iv, sentence=True))}</div>')
    return text + _own_overall_div(assessment)


def _own_overall_div(assessment: Assessment) -> str:
    """A session grader's own overall (graders.session), with its interval and 'not a grade' when untrained."""
    own = assessment.holistic
    if own is None:
        return ""
    words = ui_text.OWN_OVERALL.format(grader=own.grader, cefr=own.cefr, score=own.score)
    words += f" ({ui_text.NOT_A_GRADE})" if own.state != "trained" else ""
    sure = interval_text(own.interval)
    return (f'<div class="sla-interval" data-testid="own-overall">{html.escape(words)}'
            f'{html.escape("; " + sure) if sure else ""}</div>')



def _part_chip(pa: PartAssessment | None, part: int) -> str:
    e = html.escape
    title = part_info(part).title
    if pa is None or not pa.ok:
        problem = (pa.problem if pa else None) or ui_text.PART_STATUS["missing"]
        return (f'<div class="sla-chip sla-chip-bad" data-part="{part}"><div class="sla-chip-title">{e(title)}</div>'
                f'<div class="sla-chip-problem">⚠ {e(problem)}</div></div>')
    warn = f'<div class="sla-chip-problem">⚠ {e(pa.problem)}</div>' if pa.problem else ""
    answers = answers_text(pa, part)
    count = f'<div class="sla-chip-answers">{e(answers)}</div>' if answers else ""
    dim = "" if pa.graded else " sla-chip-ungraded"
    sure = interval_text(pa.interval) or spread_text(pa)
    basis = pa.interval.basis if pa.interval is not None else ""
    sure = (f'<div class="sla-chip-interval" data-testid="part-interval" title="{e(basis)}">{e(sure)}</div>'
            if sure else "")
    flag = f' <span class="sla-flag" title="{e(" ".join(pa.review))}">⚑</span>' if pa.review else ""
    return (f'<div class="sla-chip{dim}" data-part="{part}"><div class="sla-chip-title">{e(title)}{flag}</div>'
            f'<div class="sla-chip-level">{e(pa.cefr or DASH)} <span class="sla-chip-score">{pa.score:.2f}</span></div>'
            f'{count}{sure}{warn}</div>')


def delivery_html(assessment: Assessment) -> str:
    """Per part: the feedback sentences a learner can act on, then every measure in one line of words."""
    e = html.escape
    cards = []
    for p in PARTS:
        pa = assessment.part(p)
        if pa is None or not pa.ok:
            continue
        title = f'<div class="sla-chip-title">{e(part_info(p).title)}</div>'
        if pa.delivery is None or pa.delivery.span_s <= 0:
            cards.append(f'<div class="sla-delivery-part" data-part="{p}">{title}<p>{e(ui_text.DELIVERY_NONE)}</p></div>')
            continue
        said = "".join(f"<li>{e(s)}</li>" for s in part_feedback(pa.delivery))
        cards.append(f'<div class="sla-delivery-part" data-part="{p}">{title}<ul>{said}</ul>'
                     f'<div class="sla-delivery-numbers">{e(delivery_numbers(pa.delivery))}</div>'
                     f'{language_html(pa.language)}</div>')
    if not cards:
        return ""
    measured = any(pa.language is not None for pa in assessment.parts if pa.ok)
    language_note = f'<p class="sla-delivery-note">{e(ui_text.LANGUAGE_NOTE)}</p>' if measured else ""
    return (f'<div class="sla-delivery" data-testid="delivery"><h3>{e(ui_text.DELIVERY_HEADING)}</h3>'
            f'{"".join(cards)}<p class="sla-delivery-note">{e(ui_text.DELIVERY_NOTE)}</p>{language_note}</div>')


def language_html(lang: PartLanguage | None) -> str:
    """A part's language use beside its delivery: the feedback sentences, then every measure in words ("" without)."""
    if lang is None:
        return ""
    e = html.escape
    said = "".join(f"<li>{e(s)}</li>" for s in language_feedback(lang))
    return (f'<div class="sla-language" data-testid="language"><b>{e(ui_text.LANGUAGE_HEADING)}</b><ul>{said}</ul>'
            f'<div class="sla-delivery-numbers">{e(language_numbers(lang))}</div></div>')


def delivery_numbers(delivery: PartDelivery) -> str:
    """Every main measure of a part in one line of plain words (ui_text.DELIVERY_NUMBERS)."""
    m = delivery.summary()
    wpm = m["words_per_minute"]
    return ui_text.DELIVERY_NUMBERS.format(
        speaking_s=m["speaking_s"], duration_s=m["duration_s"], phonation=m["phonation_ratio"] or 0.0,
        speech_rate=m["speech_rate"] or 0.0, articulation_rate=m["articulation_rate"] or 0.0,
        pauses=m["pauses"], pauses_s="" if m["pauses"] == 1 else "s", long_pauses=m["long_pauses"],
        mean_pause=f", {m['mean_pause_s']:.2f} s on average" if m["mean_pause_s"] is not None else "",
        run=m["mean_length_of_run"] or 0.0, start_s=m["start_s"] or 0.0,
        wpm=f" · {wpm:.0f} words per minute (transcript)" if wpm is not None else "")


def charts_text_html(assessment: Assessment) -> str:
    """What the four result charts show, as text and small tables: their alternative for a screen reader,
    a printout or a phone too narrow to read a heat map."""
    e = html.escape
    done = [(p, pa) for p in PARTS if (pa := assessment.part(p)) and pa.ok]
    if not done:
        return f"<p>{e(ui_text.NO_OVERALL)}</p>"
    lines = []
    for p, pa in done:
        graders = [f"{name} grader {s.score:.2f}" for name, s in (("speech", pa.speech), ("multimodal", pa.mllm)) if s]
        weight = "" if pa.fusion_weight is None else f", fusion weight on the multimodal grader {pa.fusion_weight:.2f}"
        lines.append(f"<li>{e(part_info(p).title)}: part score {pa.score:.2f} ({e(pa.cefr or DASH)}); "
                     f"{e(', '.join(graders))}{e(weight)}.</li>")
    text = f"<p><b>{e(ui_text.CHART_PARTS)}</b></p><ul>{''.join(lines)}</ul>"
    for heading, pick, levels in ((ui_text.CHART_PROTOTYPES, "speech", None), (ui_text.CHART_MLLM, "mllm", GRID)):
        rows = [(p, getattr(pa, pick)) for p, pa in done if getattr(pa, pick) is not None]
        values = {p: dict(zip(s.prototype_levels or GRID, s.similarities)) if pick == "speech" else
                  dict(zip(levels, s.distribution)) for p, s in rows
                  if (s.similarities if pick == "speech" else s.distribution) is not None}
        if not values:
            continue
        head = "".join(f"<th>{e(LABELS[i])}</th>" for i in range(len(GRID)))
        body = "".join(f"<tr><td>Part {p}</td>" + "".join(
            f"<td>{values[p][g]:.2f}</td>" if g in values[p] else f"<td>{DASH}</td>" for g in GRID) + "</tr>"
            for p in values)
        best = "; ".join(f"Part {p}: {LABELS[GRID.index(max(v, key=v.get))]}" for p, v in values.items())
        text += (f"<p><b>{e(heading)}</b>: the level with the highest value is {e(best)}.</p>"
                 f"<table><tr><th>Part</th>{head}</tr>{body}</table>")
    return text


def status_html(infos: Sequence[GraderInfo], store_path: str | Path | None = None) -> str:
    """The model-status panel: what is loaded, its state and where it came from, plus a plain headline."""
    e = html.escape
    # Only a trained grader makes numbers grades: fitted fusion weights or a teacher calibration over
    # untrained graders (e.g. after "Use this profile" on the tiny models) still give no grade.
    trained = [i for i in infos if i.state == TRAINED and i.name != "calibration"]
    if any_grader_trained(infos):
        what = ", ".join(ui_text.GRADER_NAMES.get(i.name, i.name) for i in trained)
        headline = f'<div class="sla-status-ok">{e(ui_text.SOME_TRAINED.format(what=what))}</div>'
    else:
        headline = f'<div class="sla-banner" role="alert">{e(ui_text.NOTHING_TRAINED)}</div>'
    items = []
    graders_trained = any_grader_trained(infos)
    for i in infos:
        loaded = not i.note.startswith("not loaded")
        state = ui_text.STATE_TEXT.get(i.state, i.state) if loaded else "not loaded"
        cls = {TRAINED: "ok", UNTRAINED: "bad"}.get(i.state, "warn") if loaded else "off"
        parts = f" · {ui_text.TRAINED_PARTS.format(parts=_parts_list(i.parts))}" if i.parts else ""
        if i.name in ("calibration", "fusion") and loaded and i.state == TRAINED:
            # Fitted to marks, not trained graders: never a green "trained" over graders that are not.
            state = ui_text.CALIBRATION_IN_USE if i.name == "calibration" else ui_text.FUSION_FITTED
            if i.name == "calibration" and NOT_HELPING in i.note:
                state, cls = f"{state} ({ui_text.DID_NOT_HELP})", "warn"
            elif not graders_trained:
                state, cls = f"{state} {ui_text.OVER_UNTRAINED}", "warn"
            if i.name == "calibration" and i.parts:
                parts = f" · {ui_text.CALIBRATION_PARTS.format(parts=_parts_list(i.parts))}"
        note = f" · {e(i.note)}" if i.note else ""
        items.append(
            f'<li data-grader="{e(i.name)}"><span class="sla-state sla-state-{cls}">{e(state)}</span> '
            f'<b>{e(ui_text.GRADER_NAMES.get(i.name, i.name))}</b> — <code>{e(public_source(i.source))}</code>'
            f'{e(parts)}{note}</li>'
        )
    # A server path tells a visitor where to look; the operator finds it in the log (app.main logs it).
    store = f'<div class="sla-store">{e(ui_text.STORE_LINE)}</div>' if store_path else ""
    return f'<div class="sla-status" data-testid="model-status">{headline}<ul>{"".join(items)}</ul>{store}</div>'


def status_line(infos: Sequence[GraderInfo]) -> str:
    """One line for the accordion title: e.g. 'Models: speech untrained · multimodal not loaded'."""
    short = {"speech": "speech", "mllm": "multimodal", "asr": "ASR", "fusion": "fusion"}
    bits = []
    for i in infos:
        state = "not loaded" if i.note.startswith("not loaded") else ui_text.STATE_TEXT.get(i.state, i.state)
        if i.name == "calibration":  # a profile is fitted to a teacher's marks: in use, never "trained"
            state = ui_text.CALIBRATION_IN_USE + (f" ({ui_text.DID_NOT_HELP})" if NOT_HELPING in i.note else "")
        bits.append(f"{short.get(i.name, i.name)} {state}")
    return f"{ui_text.STATUS_HEADING}: " + " · ".join(bits)


def any_grader_trained(infos: Sequence[GraderInfo]) -> bool:
    """Whether a grader (speech or multimodal) is trained: what decides if the numbers can be grades."""
    return any(i.state == TRAINED and i.name in GRADERS and not i.note.startswith("not loaded") for i in infos)


def is_any_untrained(infos: Sequence[GraderInfo]) -> bool:
    return any(i.state == UNTRAINED and not i.note.startswith("not loaded") for i in infos)
