"""Grading on submit: ``coursekit serve ASSIGNMENT`` watches nbgrader's exchange, grades each
new submission with the hardened engine on Dask and releases its feedback (README, "For
instructors"). ``settings`` reads ``c.Serve.*``, ``inbox`` talks to the exchange, ``state`` keeps
the service's record and lock, ``recovery`` reads it after a kill, ``status`` shows them,
``limits`` counts graded tries, ``service`` runs the passes."""
from coursekit.serve.limits import next_graded_try
from coursekit.serve.service import ServeOptions, serve_forever, serve_once
from coursekit.serve.settings import Serve, ServeSettings, course_config, serve_settings
from coursekit.serve.state import ServeRecord, ServiceLock, ServiceRunning
from coursekit.serve.status import read_served, status_path

__all__ = ["Serve", "ServeSettings", "ServeOptions", "ServeRecord", "ServiceLock",
           "ServiceRunning", "course_config", "serve_settings", "serve_once", "serve_forever",
           "read_served", "status_path", "next_graded_try"]
