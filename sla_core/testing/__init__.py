"""Test factories inside the package (lhotse style): tiny random models, dummy audio and submissions.

Nothing here downloads anything; everything is built from configs in code. Submodules:
`audio` (synthetic waveforms and files), `speech` (tiny wav2vec 2.0), `mllm` (tiny Phi-4-multimodal
and a tokenizer built in code), `corpus` (a miniature S&I corpus on disk).
"""
