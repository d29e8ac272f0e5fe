"""Why the server refuses to start on a data directory.

``StartupRefused`` carries a message for the operator that says what is wrong and what to do;
``server.serve`` prints it and exits with status 1 instead of serving damaged or rolled-back data.
"""

from __future__ import annotations


class StartupRefused(Exception):
    """The data directory cannot be served as it is (the message says why and how to proceed)."""
