"""The miniature corpus has the exact S&I Corpus 2025 layout, and its marks are learnable from the speech."""

import json
import re

import numpy as np
import pytest
import soundfile as sf

from sla_core.parts import PARTS
from sla_core.testing.audio import has_espeak
from sla_core.testing.corpus import ITEMS, make_mini_corpus

pytestmark = pytest.mark.skipif(not has_espeak(), reason="needs espeak-ng")
UTT = re.compile(r"^SI\d{3}[A-Z]-\d{5}-P[1345]\d{4}$")



@pytest.mark.parametrize("split", ["dev", "train", "eval"])
def test_reference_files_have_the_corpus_line_formats(mini, split):
    ref = mini.root / "reference-materials"
    marks_dir = mini.eval_reference if split == "eval" else ref / "sla-marks"  # eval: released without marks
    assert not list((ref / "sla-marks").glob("eval-*"))
    assert bool(list((ref / "pre-norm").glob(f"{split}-sla-*.ctm"))) == (split == "dev")
    for p in PARTS:
        for line in (ref / "flists.flac" / f"{split}-sla-P{p}.tsv").read_text().splitlines():
            utt, rel = line.split("\t")
            assert UTT.match(utt) and utt[14] == str(p)
            assert rel.startswith(f"data/flac/{split}/") and rel.endswith(f"/P{p}/{utt}.flac")
            assert (mini.root / rel).is_file()
        for line in (marks_dir / f"{split}-sla-P{p}.tsv").read_text().splitlines():
            sub, score = line.split("\t")
            assert len(sub) == 12 and re.fullmatch(r"\d\.\d{3}", score)
        if split == "dev":  # the baseline's CTMs exist for dev only
            for line in (ref / "pre-norm" / f"{split}-sla-P{p}.ctm").read_text().splitlines():
                utt, channel, start, dur, word, conf = line.split()
                assert UTT.match(utt) and channel == "1" and float(dur) > 0 and word.isalpha()
    assert (ref / "pre-norm" / "train-gec.ctm").is_file()  # the GEC subset's: not the SLA lists
    overall = dict(line.split("\t") for line in (marks_dir / f"{split}-sla-overall.tsv").read_text().splitlines())
    complete = [s for s, m in mini.marks[split].items() if set(m) == set(PARTS)]
    holistic = mini.holistic[split]
    assert sorted(overall) == sorted(complete + sorted(holistic))
    incomplete = {"train": 2, "dev": 0, "eval": 1}[split]  # dev: every submission complete, as released
    assert len(holistic) == (2 if split == "train" else 0) and len(complete) == len(mini.marks[split]) - incomplete
    for sub in complete:  # overall = mean of the four part marks, in steps of 0.125
        assert float(overall[sub]) == pytest.approx(np.mean(list(mini.marks[split][sub].values())), abs=1e-3)
    for sub in holistic:  # a holistic mark off the grid, as in the real train split
        assert float(overall[sub]) in (1.875, 5.625)
    annotations = json.loads((ref / "annotations" / f"{split}-gec-ref.json").read_text())
    question = json.loads(annotations["files"][0]["Question"])  # a JSON string inside the JSON
    assert set(question) == {"text", "speaking-time", "thinking-time"}


def test_audio_is_16k_mono_flac_of_one_to_three_seconds(mini):
    files = sorted(mini.root.glob("data/flac/dev/*/P*/*.flac"))
    assert len(files) == sum(len(ITEMS[p]) for m in mini.marks["dev"].values() for p in m)  # one per answer
    for f in files[:10]:
        info = sf.info(f)
        assert (info.format, info.samplerate, info.channels) == ("FLAC", 16000, 1)
        assert 1.0 <= info.duration <= 3.0


def test_speaking_rate_rises_with_the_mark(mini):
    # Letters per second of audio follow the phone rate espeak-ng was given (-s) and the richer words.
    marks, rates = [], []
    for sub, by_part in mini.marks["train"].items():
        for p, mark in by_part.items():
            for utt in [u for u in mini.transcripts if u.startswith(f"{sub}-P{p}")]:
                seconds = sf.info(next(mini.root.glob(f"data/flac/train/*/P{p}/{utt}.flac"))).duration
                marks.append(mark)
                rates.append(len(mini.transcripts[utt].replace(" ", "")) / seconds)
    assert np.corrcoef(marks, rates)[0, 1] > 0.9


def test_without_annotations_there_is_no_annotations_file(tmp_path):
    corpus = make_mini_corpus(tmp_path, n_per_split={"dev": 2}, parts=(3,), with_annotations=False)
    assert not list((tmp_path / "reference-materials" / "annotations").glob("*.json"))
    assert corpus.questions == {}
