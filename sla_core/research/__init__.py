"""The researcher's tools: the S&I corpus, predictions files, the evaluation report (the paper's Table 1),
training (one readable loop per grader in `train/`), and the cohort batch job on Ray Data (`batch.py`).

Run through `python -m sla_core train|predict|fit-fusion|evaluate|batch`; the teacher app never imports this.
"""
