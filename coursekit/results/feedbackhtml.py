"""The feedback page's HTML: maths as MathML, hints that wrap, a verdict on every graded cell.

nbgrader renders feedback with nbconvert's ``HTMLExporter`` and its ``feedback`` template, which
loads MathJax from a CDN (it ignores ``HTMLExporter.mathjax_url``): offline, a student reads raw
``$...$``. Pointing it at a local MathJax would not help either, because ``nbgrader
release_feedback`` hands back the ``.html`` file alone, and inlining MathJax costs 1-2 MB per
page. :class:`FeedbackExporter` therefore converts every formula to MathML while it writes the
page (``latex2mathml``; browsers draw MathML themselves, with no script and no network); a
formula it cannot convert stays as readable TeX in a ``<code class="tex">``. Before rendering,
every notebook goes through :func:`coursekit.results.sanitise.sanitise` (metadata nbconvert
cannot render: widget state without ``state``, say).

The ``coursekit_feedback`` template (``templates/``) extends nbgrader's: the same page without
any script or remote file, outputs and tracebacks that wrap instead of scrolling sideways, and
each graded cell's score labelled ``full marks``, ``partial credit``, ``no points`` or ``not
graded yet`` (see :class:`MarkVerdicts`).
"""
import html
from pathlib import Path

import nbgrader
from jinja2 import pass_context
from latex2mathml.converter import convert as _to_mathml
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import default, validate

from coursekit.results.sanitise import sanitise

__all__ = ["TEMPLATE_DIR", "TEMPLATE_NAME", "NBGRADER_TEMPLATES", "tex_to_html", "latex_output_html",
           "FeedbackExporter", "MarkVerdicts", "verdict"]

TEMPLATE_DIR = Path(__file__).with_name("templates")
TEMPLATE_NAME = "coursekit_feedback"
NBGRADER_TEMPLATES = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / (
    "templates")


def tex_to_html(tex, display=False):
    """MathML for the TeX formula ``tex`` (no delimiters), or the TeX itself when it cannot be.

    Args:
        tex: e.g. ``r"\\frac{\\partial L}{\\partial W_1}"``.
        display: a displayed (block) formula instead of an inline one.

    Returns:
        a ``<math>`` element, or ``<code class="tex">`` with the escaped TeX.
    """
    try:
        return _to_mathml(tex.strip(), display="block" if display else "inline")
    except Exception:  # latex2mathml raises many types on TeX it does not know
        return f'<code class="tex">{html.escape(tex)}</code>'


def latex_output_html(text):
    """A ``text/latex`` output (``$$...$$``, ``$...$`` or an environment) as MathML."""
    text = (text or "").strip()
    for left, right in (("$$", "$$"), ("\\[", "\\]"), ("$", "$")):
        if text.startswith(left) and text.endswith(right) and len(text) > len(left + right):
            return tex_to_html(text[len(left):-len(right)], display=left != "$")
    return tex_to_html(text, display=True)


class _MathMLRenderer(IPythonRenderer):
    """nbconvert's Markdown renderer with formulas as MathML instead of MathJax input."""

    def block_math(self, body):
        return tex_to_html(body, display=True)

    def inline_math(self, body):
        return tex_to_html(body)

    def multiline_math(self, text):
        return tex_to_html(text.strip().strip("$"), display=True)

    def latex_environment(self, name, body):
        return tex_to_html(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True)


def _with(dirs, *more):
    """``dirs`` (a list of str) followed by each of ``more`` it lacks."""
    dirs = [str(d) for d in dirs]
    return dirs + [str(d) for d in more if str(d) not in dirs]


class FeedbackExporter(HTMLExporter):
    """``HTMLExporter`` whose ``markdown2html`` filter writes formulas as MathML.

    Used by ``coursekit feedback`` as ``GenerateFeedback.exporter_class``, with
    ``HTMLExporter.template_name = "coursekit_feedback"``; it finds that template in
    :data:`TEMPLATE_DIR` and nbgrader's ``feedback`` template, which it extends, in
    nbgrader's folder, whatever ``extra_template_basedirs`` nbgrader sets.
    """

    @default("extra_template_basedirs")
    def _basedirs_default(self):
        return [str(NBGRADER_TEMPLATES), str(TEMPLATE_DIR)]

    @validate("extra_template_basedirs")
    def _basedirs_with_ours(self, proposal):
        return _with(proposal["value"], NBGRADER_TEMPLATES, TEMPLATE_DIR)

    @default("extra_template_paths")
    def _paths_default(self):  # as nbgrader's GenerateFeedback sets them, plus the template
        return [str(NBGRADER_TEMPLATES.parent / "static" / "node_modules" / "bootstrap" / "dist"
                    / "css"), str(NBGRADER_TEMPLATES)]

    @validate("extra_template_paths")
    def _paths_with_nbgrader(self, proposal):  # our template extends feedback/index.html.j2
        return _with(proposal["value"], NBGRADER_TEMPLATES)

    def from_notebook_node(self, nb, resources=None, **kw):
        """Render ``nb`` after :func:`coursekit.results.sanitise.sanitise` (repairs logged)."""
        nb, repairs = sanitise(nb)
        for repair in repairs:
            self.log.warning("feedback: %s", repair)
        return super().from_notebook_node(nb, resources, **kw)

    @pass_context
    def markdown2html(self, context, source):
        cell = context.get("cell", {})
        path = context.get("resources", {}).get("metadata", {}).get("path", "")
        renderer = _MathMLRenderer(
            escape=False, attachments=cell.get("attachments", {}),
            embed_images=self.embed_images, path=path, anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links, **self.lexer_options)
        return MarkdownWithMath(renderer=renderer).render(source)

    def default_filters(self):
        yield from super().default_filters()
        yield ("markdown2html", self.markdown2html)
        yield ("latex_output_html", latex_output_html)


def verdict(score, points, needs_manual_grade=False):
    """``"full"``, ``"partial"``, ``"none"`` or ``"ungraded"`` for a cell's score and points."""
    if needs_manual_grade:
        return "ungraded"
    score, points = float(score or 0), float(points or 0)
    if score >= points:
        return "full"
    return "partial" if score > 0 else "none"


class MarkVerdicts(NbGraderPreprocessor):
    """Set ``metadata.nbgrader.verdict`` of every graded cell (after nbgrader's ``GetGrades``).

    A cell that waits for manual grading (a written answer) is ``"ungraded"``, not zero.
    """

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        self._pending = set()
        if {"db_url", "notebook", "assignment", "student"} <= set(info):
            with Gradebook(info["db_url"]) as gb:
                for cell in nb.cells:
                    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                    if not cell.metadata.get("nbgrader", {}).get("grade"):
                        continue
                    try:
                        grade = gb.find_grade(grade_id, info["notebook"], info["assignment"],
                                              info["student"])
                    except MissingEntry:
                        continue
                    if grade.needs_manual_grade:
                        self._pending.add(grade_id)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and "score" in meta:
            meta["verdict"] = verdict(meta.get("score"), meta.get("points"),
                                      meta.get("grade_id") in self._pending)
        return cell, resources
