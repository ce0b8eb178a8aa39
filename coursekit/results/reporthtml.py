"""The grade report as an instructor reads it: a score histogram and one self-contained page.

The page embeds the histogram as a base64 PNG and needs no other file, so it can be mailed or
opened from anywhere. Figures come from :func:`coursekit.results.report.build_report`.
"""
import base64
import html
import io

__all__ = ["histogram_png", "Html", "table", "summary_line", "submissions_table", "render_html"]


def histogram_png(totals, max_total, title=""):
    """PNG bytes of a histogram of ``totals`` (bins of one point from 0 to ``max_total``)."""
    from matplotlib.figure import Figure  # no pyplot: nothing is shown, no global state

    fig = Figure(figsize=(6, 3.2), dpi=100)
    ax = fig.add_subplot()
    top = max([max_total or 0, *totals, 1])
    bins = [float(i) for i in range(int(top) + 2)]
    ax.hist(totals, bins=bins, color="#4c72b0", edgecolor="white")
    ax.set_xlim(0, bins[-1])
    ax.set_xlabel(f"total score (of {max_total:g})")
    ax.set_ylabel("submissions")
    ax.set_title(f"{title}: {len(totals)} graded submissions" if title else
                 f"{len(totals)} graded submissions")
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.45em; vertical-align: top; }
table.submissions { font-size: 92%; }
th { background: #f4f4f4; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th.text, td.text { text-align: left; }
tr.failed td { background: #fde8e8; }
tr.needs_review td, tr.other td { background: #fff4d6; }
tr.ungraded td { background: #eef1f8; }
tr.detail td { font-size: 90%; color: #444; border-top: none; }
tr.graded.detail td { background: #fafafa; }
"""

# Statuses in the summary line, in this order; any other status autograde recorded follows.
SUMMARY = ("graded", "needs_review", "failed", "ungraded")


def _num(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}".rstrip("0").rstrip(".")


class Html(str):
    """Markup that :func:`table` puts in a cell as it is (already escaped)."""


def table(columns, rows, classes=None, details=None, name=""):
    """An HTML table whose header and cells share each column's alignment.

    Args:
        columns: [(heading, "num" or "text"), ...]; numbers are right-aligned, text left.
        rows: lists of cell values (str, numbers, or :class:`Html`).
        classes: a CSS class for each row (its status), or None.
        details: for each row, a line of text shown under it across the whole table (or "").
        name: the table's CSS class.
    """
    head = "".join(f'<th class="{kind}">{html.escape(str(name))}</th>'
                   for name, kind in columns)
    body = []
    for i, row in enumerate(rows):
        status = html.escape(classes[i]) if classes else ""
        cells = "".join(
            f'<td class="{kind}">{cell if isinstance(cell, Html) else html.escape(str(cell))}'
            f'</td>' for (_, kind), cell in zip(columns, row))
        body.append(f'<tr class="{status}">{cells}</tr>')
        if details and details[i]:
            body.append(f'<tr class="{status} detail"><td class="text" colspan="{len(columns)}">'
                        f'{html.escape(details[i])}</td></tr>')
    return (f'<table class="{name}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _link(path, text):
    return Html(f'<a href="{html.escape(path, quote=True)}">{html.escape(text)}</a>')


def summary_line(counts):
    """``"4 submissions: 2 graded, 1 needs_review, 1 failed, 0 ungraded"``."""
    others = sorted(k for k in counts if k not in SUMMARY and k != "submissions")
    parts = ", ".join(f"{counts.get(k, 0)} {k}" for k in (*SUMMARY, *others))
    return f"{counts.get('submissions', 0)} submissions: {parts}"


def submissions_table(report):
    """Every submission, those that need the instructor first (as ``build_report`` sorts).

    Each row has the scores and a link to the feedback page; the reason and the notes, when
    there are any, are a line under it.
    """
    groups = list(report["max_groups"])
    rows, classes, details = [], [], []
    for s in report["submissions"]:
        page = s.get("feedback")
        rows.append([s["student"], s["status"], _num(s["total"]),
                     *[_num((s["groups"] or {}).get(g)) for g in groups],
                     _link(page, "feedback") if page else "-"])
        classes.append(s["status"] if s["status"] in ("graded", "failed", "needs_review",
                                                      "ungraded") else "other")
        details.append(" ".join(filter(None, [
            f"Reason: {s['reason']}." if s["reason"] else "",
            f"Notes: {'; '.join(s['notes'])}." if s.get("notes") else ""])))
    columns = [("student", "text"), ("status", "text"), ("total", "num"),
               *[(g, "num") for g in groups], ("feedback", "text")]
    return table(columns, rows, classes, details, name="submissions")


def render_html(report, png, sections=()):
    """The report page (a string of HTML) with the histogram ``png`` embedded.

    Args:
        report: from :func:`coursekit.results.report.build_report`.
        png: the histogram's PNG bytes.
        sections: more ``(heading, html)`` sections, placed before the submissions table.
    """
    skills = table(
        [("skill", "text"), ("max", "num"), ("pass rate", "num"), ("mean", "num")],
        [[g, _num(st["max"]), "-" if st["pass_rate"] is None else f"{st['pass_rate']:.0%}",
          _num(st["mean"])] for g, st in report["skills"].items()])
    failing = table(
        [("test", "text"), ("no points", "num"), ("most common messages", "text")],
        [[t["grade_id"], f"{t['failed']} of {t['of']}",
          "; ".join(f"{m} ({c})" for m, c in t["messages"][:3])]
         for t in report["failing_tests"]])
    partial = table(
        [("test", "text"), ("partial credit", "num"), ("scores", "text")],
        [[t["grade_id"], f"{t['students']} of {t['of']}",
          ", ".join(f"{_num(x)} of {_num(t['max'])}" for x in t["scores"][:10])]
         for t in report.get("partial_credit", [])])
    image = base64.b64encode(png).decode("ascii")
    title = html.escape(f"Grade report: {report['assignment']}")
    extra = "".join(f"<h2>{html.escape(heading)}</h2>\n{body}\n" for heading, body in sections)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title><style>{STYLE}</style></head>
<body>
<h1>{title}</h1>
<p>{html.escape(summary_line(report["counts"]))}. Mean total of graded submissions:
{_num(report['mean_total'])} of {_num(report['max_total'])}. Generated
{html.escape(report['generated'])}.</p>
<h2>Score histogram</h2>
<img alt="histogram of total scores" src="data:image/png;base64,{image}">
<h2>Skills</h2>
<p>Pass rate: share of graded submissions with every point of the skill. Written answers
(<code>written</code>) count 0 until they are graded by hand.</p>
{skills}
<h2>Most common failing tests</h2>
<p>Test cells that gave a graded submission no points.</p>
{failing}
<h2>Partial credit</h2>
<p>Test cells that gave a graded submission some of their points, not all.</p>
{partial}
{extra}<h2>Submissions</h2>
<p>Failed and held for review first. Each feedback link opens the student's page.</p>
{submissions_table(report)}
</body></html>
"""
