"""The learner reports as files in a teacher's own folder: one learner's HTML and PDF, or a class's zip.

The handlers write them as the teacher's own downloads (`downloads.Downloads`: served only to that teacher,
for ten minutes), as the CSV and JSON are.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

from ..assessment import Assessment
from .learner_pdf import report_pdf
from .learner_report import build_report, report_html


def file_stem(learner: str | None) -> str:
    """A learner's name as a file name: letters and digits kept, the rest "_" (never a path)."""
    return "".join(c if c.isalnum() else "_" for c in (learner or "learner"))[:80] or "learner"


def write_report(a: Assessment, page: str | Path, pdf: str | Path, session: str = "") -> tuple[Path, Path]:
    """Write the learner's report as HTML at `page` and as a PDF at `pdf` (owner-only); returns both."""
    report = build_report(a, session)
    page = Path(page)
    page.write_text(report_html(report), encoding="utf-8")
    pdf = report_pdf(report, pdf)
    for path in (page, pdf):
        path.chmod(0o600)
    return page, pdf


def save_report(a: Assessment, folder: str | Path, session: str = "", stem: str | None = None) -> tuple[Path, Path]:
    """Write the learner's report as `report_<name>.html` and `.pdf` in `folder` (owner-only); returns both."""
    folder = Path(folder)
    stem = stem or f"report_{file_stem(a.learner)}"
    return write_report(a, folder / f"{stem}.html", folder / f"{stem}.pdf", session)


def save_class_reports(results: Sequence[Assessment], folder: str | Path, session: str = "",
                       target: str | Path | None = None) -> Path:
    """Every learner's report (HTML and PDF) in one zip: `target`, or `reports_<session>.zip` in `folder`; returns
    its path. The loose files are made in `folder` and removed once zipped.

    Two learners with the same name get "_2", "_3" after it, so no report overwrites another.
    """
    folder = Path(folder)
    target = Path(target) if target is not None else folder / f"reports_{file_stem(session or 'class')}.zip"
    seen: dict[str, int] = {}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for a in results:
            name = file_stem(a.learner)
            seen[name] = seen.get(name, 0) + 1
            stem = f"report_{name}" + (f"_{seen[name]}" if seen[name] > 1 else "")
            for path in save_report(a, folder, session, stem):
                zf.write(path, path.name)
                path.unlink()  # the zip is the download; no loose copies stay behind
    target.chmod(0o600)
    return target
