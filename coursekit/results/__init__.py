"""What grading produces for people.

- ``grades``: scores read back from the gradebook, by skill group; failing cells' messages;
- ``feedback``: feedback pages for every graded submission (``coursekit feedback``);
- ``hidden_tests``, ``errors``: what a page shows of the tests (no hidden test; readable errors);
- ``feedbackhtml``, ``sanitise``: the page itself (MathML, verdicts) and metadata repairs;
- ``stats``, ``report``, ``reporthtml``: the grade report (figures, JSON, HTML, histogram).
"""
__all__ = ["errors", "feedback", "feedbackhtml", "grades", "hidden_tests", "report",
           "reporthtml", "sanitise", "stats"]
