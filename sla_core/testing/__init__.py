"""Test factories inside the package (lhotse style): tiny random models, dummy audio and submissions.

Nothing here downloads anything; everything is built from configs in code. Submodules:
`audio` (synthetic waveforms and files), `speech` (tiny wav2vec 2.0), `mllm` (tiny Phi-4-multimodal
and a tokenizer built in code), `asr` (transcribers for tests), `bert` (tiny BERT and tokenizer),
`corpus` (a miniature S&I corpus on disk), `calibration` (graded exemplars with a known answer),
`assessments` (ready-made Assessment objects for the app's views).
"""
