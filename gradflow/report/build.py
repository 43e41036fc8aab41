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
    page and the pages of their evidence.

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
        count = 0
        with PdfPages(tmp, metadata=metadata) as pdf:
            for fig in claims_pdf_pages(claims) if claims is not None else ():
                pdf.savefig(fig)
                count += 1
            if reports:
                for fig in pdf_pages(reports, context):
                    pdf.savefig(fig)
                    count += 1
            for fig in training_pages(list(histories)):
                pdf.savefig(fig)
                count += 1
        return count
