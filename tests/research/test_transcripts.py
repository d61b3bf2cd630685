"""Transcripts for a split: made once by the project's ASR, kept in the cache, exported; a second run makes none."""

import pytest

from sla_core.__main__ import main
from sla_core.research.corpus import load_si_split

pytestmark = pytest.mark.slow  # tiny Phi-4 ASR over the mini corpus


def test_transcribe_fills_the_cache_once_and_exports_words(mini, tmp_path, capsys):
    args = ["transcribe", "--data", str(mini.root), "--split", "train", "--asr", "tiny",
            "--transcript-cache", str(tmp_path / "cache"), "--out", str(tmp_path / "train.tsv")]
    assert main(args) == 0
    answers = [r.utt_id for s in load_si_split(mini.root, "train") for p in s.parts for r in p.responses]
    lines = (tmp_path / "train.tsv").read_text().splitlines()
    assert [line.split("\t")[0] for line in lines] == answers  # train has no CTM: every answer from our ASR
    assert f"{len(answers)} answers: {len(answers)} transcribed" in capsys.readouterr().out
    assert main(args) == 0
    assert f"{len(answers)} answers: 0 transcribed" in capsys.readouterr().out  # the second run reads the cache
    assert (tmp_path / "train.tsv").read_text().splitlines() == lines


def test_a_ctm_needs_word_times(mini, tmp_path, capsys):
    assert main(["transcribe", "--data", str(mini.root), "--split", "eval", "--asr", "tiny", "--ctm",
                 "--transcript-cache", str(tmp_path / "cache"), "--out", str(tmp_path / "eval.ctm")]) == 2
    assert "gave no word times" in capsys.readouterr().err
