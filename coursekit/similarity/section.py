"""The similarity section of ``report.html``: flagged pairs, their matching lines side by side.

The section is rendered from ``similarity.json`` alone and sits between two HTML comments, so
``coursekit similarity`` replaces it in place and ``coursekit report`` (which rewrites the
page) puts it back (:func:`add_to_report`). All code is HTML-escaped.
"""
import html
import json
from pathlib import Path

__all__ = ["START", "END", "render_section", "insert_section", "empty_page", "add_to_report"]

START, END = "<!-- coursekit similarity -->", "<!-- /coursekit similarity -->"
STYLE = """<style>
.similarity table.pairs td, .similarity th { text-align: left; }
.similarity table.code { width: 100%; table-layout: fixed; }
.similarity table.code td { vertical-align: top; text-align: left; padding: 0; width: 50%; }
.similarity pre { margin: 0; padding: 0.3em; font-size: 0.85em; overflow-x: auto; }
.similarity mark { background: #ffe08a; }
.similarity .ln { color: #999; user-select: none; }
.similarity .fn { background: #eef; padding: 0.2em 0.4em; font-weight: bold; }
</style>"""


def _esc(value):
    return html.escape(str(value))


def _code(source, lines):
    """``<pre>`` of ``source`` with line numbers, the ``lines`` (1-based) highlighted."""
    marked, rows = set(lines), []
    for number, line in enumerate((source or "").splitlines(), start=1):
        text = f'<span class="ln">{number:3d}</span> {_esc(line)}'
        rows.append(f"<mark>{text}</mark>" if number in marked else text)
    return f"<pre>{chr(10).join(rows)}</pre>"


def _groups(pairs):
    """Flagged pairs grouped by (a, b), best first: ``[(a, b, [entries])]``."""
    groups = {}
    for pair in pairs:
        if pair["flagged"]:
            groups.setdefault((pair["a"], pair["b"]), []).append(pair)
    return [(a, b, entries) for (a, b), entries in groups.items()]


def _side_by_side(data, a, b, entries):
    """The matching code of one flagged pair, one table row per function."""
    overall = [e for e in entries if e["function"] is None and "lines" in e]
    shown = overall or [e for e in entries if "lines" in e]
    lines = {"a": {}, "b": {}}
    for entry in shown:
        for side in ("a", "b"):
            for name, numbers in entry["lines"][side].items():
                lines[side].setdefault(name, set()).update(numbers)
    code_a, code_b = data["code"].get(a, {}), data["code"].get(b, {})
    names = [n for n in code_a if n in lines["a"] or n in lines["b"]]
    names += [n for n in code_b if n in lines["b"] and n not in names]
    rows = []
    for name in names:
        cells = []
        for side, code in (("a", code_a), ("b", code_b)):
            cells.append(f'<td><div class="fn">{_esc(name)}</div>'
                         f"{_code(code.get(name), lines[side].get(name, ()))}</td>"
                         if name in code else "<td></td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    head = f"<tr><th>{_esc(a)}</th><th>{_esc(b)}</th></tr>"
    return f'<table class="code">{head}{"".join(rows)}</table>'


def render_section(data):
    """HTML of the similarity section for ``data`` (the content of ``similarity.json``)."""
    groups = _groups(data["pairs"])
    n = len(data["against"])
    against = f" and {n} --against file{'s' * (n != 1)}" if n else ""
    intro = (f"<p>{len(data['students'])} submissions{_esc(against)} compared, overall and "
             f"function by function, after removing the release's own code (generated "
             f"{_esc(data['generated'])}). A score is the share of the smaller side's code "
             f"found in the other, whatever the names, comments, line breaks and statement "
             f"order; a pair is flagged from {data['threshold']:g} when both sides wrote at "
             f"least {data['min_tokens']} tokens of their own there. A flag asks for a look, "
             f"not a verdict. Instructor only: nothing of it reaches students.</p>")
    skipped = "".join(f"<li>{_esc(s['id'])}: {_esc(s['reason'])}</li>" for s in data["skipped"])
    skipped = f"<p>Not compared:</p><ul>{skipped}</ul>" if skipped else ""
    if not groups:
        best = [p for p in data["pairs"] if p["function"] is None][:5]
        top = ", ".join(f"{_esc(p['a'])} / {_esc(p['b'])} {p['score']:.2f}" for p in best)
        body = f"<p>No pair is flagged. Highest overall scores: {top or 'none'}.</p>"
    else:
        rows = []
        for a, b, entries in groups:
            overall = next((e["score"] for e in entries if e["function"] is None), None)
            functions = ", ".join(f"{_esc(e['function'])} {e['score']:.2f}" for e in entries
                                  if e["function"] is not None)
            rows.append(f"<tr><td>{_esc(a)}</td><td>{_esc(b)}</td><td>"
                        f"{'-' if overall is None else f'{overall:.2f}'}</td>"
                        f"<td>{functions or '-'}</td></tr>")
        table = ('<table class="pairs"><tr><th>a</th><th>b</th><th>overall</th>'
                 f'<th>flagged functions</th></tr>{"".join(rows)}</table>')
        details = [f"<h3>{_esc(a)} and {_esc(b)}</h3>{_side_by_side(data, a, b, entries)}"
                   for a, b, entries in groups if any("lines" in e for e in entries)]
        more = len(groups) - len(details)
        note = f"<p>{more} more flagged pairs: see similarity.json.</p>" if more else ""
        count = f"{len(groups)} pair{'s' * (len(groups) != 1)} flagged"
        body = f"<p>{count}.</p>{table}{''.join(details)}{note}"
    return (f'{START}\n<section class="similarity">{STYLE}<h2>Similarity</h2>{intro}'
            f"{skipped}{body}</section>\n{END}")


def insert_section(page, data):
    """``page`` with its similarity section (if any) replaced by the one of ``data``."""
    if START in page and END in page:
        page = page[:page.index(START)] + page[page.index(END) + len(END):]
    block = render_section(data)
    if "</body>" in page:
        at = page.rindex("</body>")
        return f"{page[:at]}{block}\n{page[at:]}"
    return f"{page}\n{block}\n"


def empty_page(assignment):
    """A page for the section alone, before ``coursekit report`` has written one."""
    title = _esc(f"Report: {assignment}")
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title>'
            f"</head>\n<body>\n<h1>{title}</h1>\n<p>Grades: run <code>coursekit report "
            f"{_esc(assignment)}</code>.</p>\n</body></html>\n")


def add_to_report(page, out_dir):
    """``page`` with the section of ``out_dir/similarity.json`` where that file exists."""
    path = Path(out_dir) / "similarity.json"
    if not path.is_file():
        return page
    return insert_section(page, json.loads(path.read_text()))
