"""What grading produces for people.

- ``grades``: scores read back from the gradebook, by skill group; failing cells' messages;
- ``feedback``: feedback HTML without the hidden tests;
- ``report``, ``reporthtml``: the grade report (JSON, HTML, histogram).
"""
__all__ = ["feedback", "grades", "report", "reporthtml"]
