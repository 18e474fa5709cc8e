"""Explore: per-column statistics, relations, target relevance and alerts."""

from .alerts import Alert
from .columns import ColumnProfile
from .profile import Profile, profile_dataset, profile_table, target_relations

__all__ = ["Alert", "ColumnProfile", "Profile", "profile_dataset", "profile_table",
           "target_relations"]
