"""Fixtures for tests only (lhotse style); production code never imports this package.

Nothing here downloads anything. Submodules: `audio` (synthetic waveforms, espeak-ng speech, files),
`mllm` (the tiny multimodal grader with its transcriber attached, as the loader does it), `corpus`
(a miniature S&I corpus on disk), `calibration` (graded exemplars with a known answer), `assessments`
(ready-made Assessment objects for the app's views). The tiny offline models themselves live beside
the models they shrink: `graders.speech`, `graders.phi4`, `graders.bert`, `asr` (Whisper).
"""
