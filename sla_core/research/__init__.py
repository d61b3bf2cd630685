"""The researcher's tools: the S&I corpus, predictions files, the evaluation report (the paper's Table 1)
and training (one readable loop per grader in `train/`).

Run through `python -m sla_core train|predict|fit-fusion|evaluate`; the teacher app never imports this.
"""
