"""Reports a person reads: the providers-by-checks matrix (Markdown and self-contained HTML) and Allure."""

from conformance.report.html import render_html
from conformance.report.markdown import render_markdown
from conformance.report.results import (
    BLOCKING,
    OUTCOMES,
    CheckResult,
    Matrix,
    ResultsError,
    build_matrix,
    load_all_results,
    save_results,
)

__all__ = [
    "BLOCKING",
    "OUTCOMES",
    "CheckResult",
    "Matrix",
    "ResultsError",
    "build_matrix",
    "load_all_results",
    "render_html",
    "render_markdown",
    "save_results",
]
