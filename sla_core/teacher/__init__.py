"""What only the teacher app uses: the words a teacher reads, the result cards, the charts, the class
intake (zips, loose files, manifests) and the Calibrate tab's workflow, plus one module of handlers per tab.

Only `app.py` and this package import gradio; the core pipeline never imports this package.
"""
