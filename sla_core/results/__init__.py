"""Where results go after the pipeline: the SQLite result store and the CSV export.

Both serve the app and the CLI alike, so they live outside the teacher package.
"""
