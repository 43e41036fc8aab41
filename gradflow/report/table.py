"""The report's summary table, drawn as real text (extractable from the PDF)."""

import textwrap

from ..plot._style import axes_or_new

SUMMARY_COLUMNS = ["model", "parameters", "sigma_max", "gamma", "bound", "decay factor",
                   "horizon", "lambda_1", "verdict"]
SUMMARY_HEADERS = ["model", "parameters", "σ_max of each W_*h", "γ", "bound\nγ·σ_max",
                   "decay\n/ step", "horizon\n(lags)", "λ₁ (nats)", "verdict"]
_WIDTHS = [0.15, 0.08, 0.25, 0.04, 0.08, 0.08, 0.11, 0.08, 0.13]


def wrap(text, width):
    """``text`` broken into lines of at most ``width`` characters (long names too)."""
    return "\n".join(textwrap.wrap(str(text), width, break_long_words=True)) or str(text)


def summary_rows(reports):
    """The table's rows: one per report, every cell wrapped to its column."""
    rows = []
    for r in reports:
        s = r.summary()
        s["sigma_max"] = wrap(s["sigma_max"], 42)
        model = wrap(s["model"], 22)
        if not s["cell"].startswith(s["model"] + " "):
            model += "\n" + s["cell"].replace(" (", "\n(")
        s["model"] = model
        s["verdict"] = wrap(s["verdict"], 20)
        s["horizon"] = wrap(s["horizon"], 16)
        rows.append([s[c] for c in SUMMARY_COLUMNS])
    return rows


def draw_summary_table(reports, *, ax=None, fontsize=8.5):
    """The summary table on ``ax`` (axis off), model names in their colours; returns the Axes."""
    ax = axes_or_new(ax)
    ax.axis("off")
    table = ax.table(cellText=summary_rows(reports), colLabels=SUMMARY_HEADERS,
                     loc="upper center", cellLoc="center", colLoc="center", bbox=[0, 0, 1, 1])
    table.auto_set_font_size(False)
    table.set_fontsize(fontsize)
    for (i, j), cell in table.get_celld().items():
        cell.set_width(_WIDTHS[j])
        if i == 0:
            cell.set_facecolor("#e8e8e8")
            cell.set_text_props(weight="bold")
        elif j == 0:
            cell.set_text_props(color=reports[i - 1].color, weight="bold")
    return ax


def table_lines(reports):
    """How many text lines the tallest cell of each row takes (for sizing the table)."""
    return [max(str(c).count("\n") + 1 for c in row) for row in summary_rows(reports)]
