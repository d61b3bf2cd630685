"""Delivery measures: how much a learner spoke, how fast, how often and how long they paused.

`vad` finds the speech (Silero VAD), `nuclei` counts syllables (de Jong & Wempe 2009), `measures`
turns both into the numbers a teacher reads (every definition and its source is in its docstring),
`feedback` into sentences a learner can act on. This package file imports nothing, so that
`audio.py` can use the voice-activity rule without loading the rest.
"""
