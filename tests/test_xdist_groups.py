"""`make test` runs the suite on two xdist workers with `--dist loadgroup`: the Spark tests
share one worker's JVM, `make bench QUICK=1` never runs beside them, and a module's
costly fixture is built once. On pytest 9.2 pytest-xdist 3.8 stopped grouping without a
word (pytest-dev/pytest-xdist#1386): every group was spread over both workers, the
Spark tests started two JVMs, and two modules built their trained models twice. This
test fails when the grouping no longer reaches the scheduler."""

from __future__ import annotations

import pytest


@pytest.mark.xdist_group("grouping_check")
def test_an_xdist_group_reaches_the_scheduler(request: pytest.FixtureRequest) -> None:
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not run by an xdist worker under --dist loadgroup")
    # The scheduler groups by the suffix the worker gives each grouped test's id.
    assert request.node.nodeid.endswith("@grouping_check"), request.node.nodeid
