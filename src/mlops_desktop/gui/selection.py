"""What a page shows belongs to what is selected.

A page keeps its selection as a key: the workspace's generation (``AppState.generation``)
and the page's choice (a model version, a dataset and target, a drift reference and a
stored comparison), with at most one result for that key. Choosing something else
clears the result at once, so nothing of the previous choice stays on screen; a result
that arrives for a key that is no longer current (a job started for v1 ending while v2
shows) is dropped. The page draws itself from this object alone, in one function.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, Optional


class Selection:
    """The current key of a page and the result that belongs to it."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        self.key: Optional[Hashable] = None
        self.result: Any = None
        self._on_change = on_change

    def select(self, key: Optional[Hashable]) -> bool:
        """Make ``key`` current. Another key than before clears the result and redraws;
        returns whether it changed."""
        if key == self.key:
            return False
        self.key, self.result = key, None
        self._on_change()
        return True

    def show(self, key: Optional[Hashable], result: Any) -> bool:
        """Show ``result`` if it belongs to the current key; drop it (False) otherwise."""
        if key != self.key:
            return False
        self.result = result
        self._on_change()
        return True
