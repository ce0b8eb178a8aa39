"""The grade report as an instructor reads it: a score histogram and one self-contained page.

The page embeds the histogram as a base64 PNG and needs no other file, so it can be mailed or
opened from anywhere. Figures come from :func:`coursekit.results.report.build_report`.
"""
import base64
import html
import io

__all__ = ["histogram_png", "render_html"]


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
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
tr.failed td, tr.ungraded td { background: #fde8e8; }
"""


def _num(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}".rstrip("0").rstrip(".")


def _table(header, rows, classes=None):
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes else ""
        cells = "".join(f"<td>{html.escape(str(cell))}</td>" if not isinstance(cell, tuple)
                        else f'<td class="text">{html.escape(str(cell[0]))}</td>'
                        for cell in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_html(report, png):
    """The report page (a string of HTML) with the histogram ``png`` embedded."""
    groups = list(report["max_groups"])
    counts = report["counts"]
    summary = ", ".join(f"{counts.get(k, 0)} {k}" for k in ("graded", "failed", "ungraded"))
    students = _table(
        ["student", "status", "total", *groups, "reason", "notes"],
        [[s["student"], s["status"], _num(s["total"]),
          *[_num((s["groups"] or {}).get(g)) for g in groups], (s["reason"] or "",),
          ("; ".join(s.get("notes") or []),)]
         for s in report["submissions"]],
        classes=[s["status"] for s in report["submissions"]])
    skills = _table(
        ["skill", "max", "pass rate", "mean"],
        [[g, _num(st["max"]), "-" if st["pass_rate"] is None else f"{st['pass_rate']:.0%}",
          _num(st["mean"])] for g, st in report["skills"].items()])
    failing = _table(
        ["test", "failed", "most common messages"],
        [[t["grade_id"], f"{t['failed']} of {t['of']}",
          ("; ".join(f"{m} ({c})" for m, c in t["messages"][:3]),)]
         for t in report["failing_tests"]])
    image = base64.b64encode(png).decode("ascii")
    title = html.escape(f"Grade report: {report['assignment']}")
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title><style>{STYLE}</style></head>
<body>
<h1>{title}</h1>
<p>{counts.get('submissions', 0)} submissions: {summary}. Mean total of graded submissions:
{_num(report['mean_total'])} of {_num(report['max_total'])}. Generated
{html.escape(report['generated'])}.</p>
<h2>Score histogram</h2>
<img alt="histogram of total scores" src="data:image/png;base64,{image}">
<h2>Skills</h2>
<p>Pass rate: share of graded submissions with every point of the skill. Written answers
(<code>written</code>) count 0 until they are graded by hand.</p>
{skills}
<h2>Most common failing tests</h2>
{failing}
<h2>Submissions</h2>
{students}
</body></html>
"""
