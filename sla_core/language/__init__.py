"""Language use from the transcript: what words a learner used and how they flowed.

`measures` computes one part's facts (words, lexical diversity MTLD, filled pauses and repetitions per
100 words, the vocabulary's CEFR profile), `vocabulary` looks each word up in the CEFR word list,
`feedback` turns the facts into sentences. Only trusted transcripts are measured: a learner's given
transcript, or a real transcriber's (never the tiny random one's), which `assess.py` decides.
"""

from .measures import PartLanguage, language_use

__all__ = ["PartLanguage", "language_use"]
