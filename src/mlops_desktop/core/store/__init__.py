"""The registry: the only code that speaks SQL.

``Registry`` opens a workspace's ``registry.sqlite`` (WAL, foreign keys, busy
timeout), brings its schema up to date through numbered migrations, and gives
transactions. The sibling modules (``audit``, ``datasets``) hold the queries.
"""

from .db import Registry, utc_now

__all__ = ["Registry", "utc_now"]
