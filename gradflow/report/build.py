"""Writing a report: PDF (one topic a page) or PNG (a dashboard), atomically."""

import os

from ..errors import GradflowError
from ..io.atomic import atomic_path
from .style import RC

FORMATS = {".pdf": "pdf", ".png": "png"}


def output_format(path):
    """``"pdf"`` or ``"png"`` from the file name, or a GradflowError."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in FORMATS:
        raise GradflowError(f"{path}: the report must end in .pdf or .png; got {ext or 'none'!r}")
    return FORMATS[ext]


def write_report(reports, path, context, *, histories=(), claims=None):
    """Draw ``reports`` (a list of ModelReport) and training ``histories`` to ``path``.

    A PDF with ``claims`` (a :class:`~gradflow.claims.ClaimsResult`) opens with the claims
    page and the pages of their evidence.  ``claims`` may also be a callable that waits for
    them (a measurement still running on another process): the models' pages are drawn
    first, then the claims', which are put at the front of the page order.

    A PNG shows the dashboard of the models or, without models, the training comparison
    (or the single history's page).

    Returns
    -------
    int
        Pages written (1 for PNG).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_pdf import PdfPages

    from .. import __version__
    from .claims_pages import pdf_pages as claims_pdf_pages
    from .pages import dashboard, pdf_pages
    from .training import comparison_page, training_page, training_pages

    fmt = output_format(path)
    labels = ", ".join([r.label for r in reports] + [d["label"] for d in histories])
    with matplotlib.rc_context(RC), atomic_path(path, suffix="." + fmt) as tmp:
        if fmt == "png":
            if reports:
                fig = dashboard(reports, context)
            elif len(histories) > 1:
                fig = comparison_page(histories)
            else:
                fig = training_page(histories[0])
            fig.savefig(tmp, format="png", dpi=120,
                        metadata={"Software": f"gradflow {__version__}"})
            return 1
        metadata = {
            "Title": f"gradflow report: {labels}",
            "Subject": "Gradient flow backwards through time: " + context,
            "Keywords": "gradflow, vanishing gradients, exploding gradients, Jacobian, "
                        "RNN, LSTM, GRU",
            "Creator": f"gradflow {__version__}",
        }
        with PdfPages(tmp, metadata=metadata) as pdf:
            if callable(claims) and _page_order(pdf) is None:
                claims = claims()  # the page order cannot be changed: wait, draw them first
            pending = callable(claims)
            if claims is not None and not pending:
                _save(pdf, claims_pdf_pages(claims))
            if reports:
                _save(pdf, pdf_pages(reports, context))
            _save(pdf, training_pages(list(histories)))
            if pending:
                drawn = pdf.get_pagecount()
                _save(pdf, claims_pdf_pages(claims()))
                order = _page_order(pdf)
                order[:] = order[drawn:] + order[:drawn]
            return pdf.get_pagecount()


def _save(pdf, figures):
    for fig in figures:
        pdf.savefig(fig)


def _page_order(pdf):
    """The list of page objects whose order is the PDF's page order, or None if unknown.

    Matplotlib's ``PdfFile.pageList`` (written out as the page tree when the file closes);
    where a version keeps it elsewhere the pages are drawn in order instead.
    """
    pdf.get_pagecount()  # opens the file
    order = getattr(getattr(pdf, "_file", None), "pageList", None)
    return order if isinstance(order, list) else None
