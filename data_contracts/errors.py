"""Domain exceptions of the data contracts layer."""

from __future__ import annotations


class FeedRejected(Exception):
    """A feed, or the whole extract, cannot be loaded.

    ``str(exc)`` is one line naming the file (or feed) and the column or problem,
    fit to show a practitioner as it is.
    """

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = " ".join(problem.split())
        super().__init__(f"{source}: {self.problem}")
