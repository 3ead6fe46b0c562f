"""Model swaps without a restart: `LiveScorer`.

Each worker checks every `model_refresh_seconds` which version the served alias names.
When it names another version, the worker loads that version on a thread of its own
(checksum verified, golden set re-scored, its approval checked, warmed up, as at
start-up) while it goes on scoring with the model it has, then swaps the new one in
with one assignment: a batch already being scored finishes on the model it started
with, and names that version.
A version that fails its checks is never served (the worker keeps its model, says why
in its log, and does not try that version again). The approval gate is checked apart:
a version refused for want of a valid approval is checked again once a governance user
records a decision about it (so a service started before the approval becomes ready
without a restart), and the version being served is withdrawn, within one interval, once
its approval no longer holds for any reason start-up would refuse it: a rejection, an
approval voided by a later fairness audit or another file it hashed changing
(`api.served_approval`, which checks in full only when what the gate reads has changed);
scoring then answers 503 with the reason, and `/readyz` says so, both audited.

Why each worker watches the alias rather than the process manager reloading the
workers on a signal: `safeguard model promote` then needs neither the server's pid nor
a shell on its host, several hosts serving one registry all follow it, and a version
that fails its checks on a host leaves that host serving, not restarting in a loop.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from api.approvals import REJECT, gate_state_in, latest_decision_in, rejected
from api.audit import commit_with_audit, operator_event
from api.case_payload import CasePayload
from api.model_scorer import scorer_for
from api.schemas import ScoreResult
from api.scoring import NoModel, Scorer, not_serving
from api.served_approval import ServedApproval
from api.settings import Settings
from api.store.db import Store
from model.registry import ModelRegistry, RegistryUnavailable

logger = logging.getLogger(__name__)


class LiveScorer:
    """A `Scorer` that serves the alias's current version, swapping it in when it moves."""

    def __init__(self, settings: Settings, scorer: Scorer) -> None:
        self.current = scorer
        self.alias = settings.model_alias
        self.interval = settings.model_refresh_seconds
        self.settings = settings
        self.on_swap: Callable[[Scorer], None] | None = None
        self._refused: set[str] = set()  # failed a check of its content: never again
        # Refused by the approval gate, with the id of its latest decision then (None: no
        # decision): checked again when another decision is recorded.
        self._gated: dict[str, int | None] = {}
        self._approval = ServedApproval(settings)  # the served version's, while it runs
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        """The name of the model being served."""
        return self.current.name

    @property
    def version(self) -> str:
        """The version being served."""
        return self.current.version

    def readiness(self) -> tuple[bool, str]:
        """Whether the current model can score, and why not."""
        return self.current.readiness()

    def score_cases(self, cases: Sequence[CasePayload]) -> list[ScoreResult]:
        """Score with the current model (each result names its version)."""
        return self.current.score_cases(cases)

    def model_info(self) -> dict[str, Any]:
        """The current model's card."""
        return self.current.model_info()

    def start(self) -> None:
        """Check the alias every `interval` seconds on a daemon thread (0: never)."""
        if self.interval > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="model-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop checking (a load under way finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _watch(self) -> None:
        registry = ModelRegistry(self.settings.mlflow_tracking_uri,
                                 model_name=self.settings.model_name,
                                 artifact_root=self.settings.mlflow_artifact_root)
        while not self._stop.wait(self.interval):
            try:
                self.refresh(registry)
            except RegistryUnavailable as exc:  # keep serving a model that passed its checks
                logger.warning("checking alias %r: %s; still serving version %s", self.alias,
                               exc, self.version)
                if isinstance(self.current, NoModel):  # say the reason of now
                    self.current = NoModel(not_serving(registry.model_name, self.alias,
                                                       RegistryUnavailable.WITHOUT_ADDRESS))
            except Exception:  # noqa: BLE001 - keep serving; try again next time
                logger.exception("checking alias %r failed; still serving version %s",
                                 self.alias, self.version)

    def refresh(self, registry: ModelRegistry) -> bool:
        """Swap in the version the alias names now, if it is another one that passes its
        checks, or withdraw the one served once its approval no longer holds; whether either
        happened."""
        wanted = registry.resolve(self.alias).version
        if wanted == self.current.version:
            return self._withdraw_if_not_approved(registry)
        if wanted in self._refused:
            return False
        if wanted in self._gated:
            latest = latest_decision_in(self.settings, registry.model_name, wanted)
            if self._gated[wanted] == (latest.id if latest is not None else None):
                return False  # no decision since the gate refused it
        decision, problem = gate_state_in(self.settings, registry, wanted)
        if problem:
            self._gated[wanted] = decision
            self._refuse(wanted, problem)
            if isinstance(self.current, NoModel):  # say the reason of now, not of start-up
                self.current = NoModel(not_serving(registry.model_name, self.alias, problem))
            return False
        try:
            loaded = registry.load(wanted)
            scorer = scorer_for(loaded, alias=self.alias)
        except Exception as exc:  # noqa: BLE001 - any failure: do not serve that version
            self._refused.add(wanted)
            self._refuse(wanted, str(exc))
            return False
        previous, self.current = self.current, scorer
        logger.warning("worker %d now serves %s version %s (alias %r; was %s)", os.getpid(),
                       scorer.name, scorer.version, self.alias, previous.version)
        self._audit(scorer, previous)
        if self.on_swap is not None:
            self.on_swap(scorer)
        return True

    def _refuse(self, version: str, why: str) -> None:
        """Log and audit a version the alias names that this worker will not serve (once
        per refusal: a version refused by the gate is checked again only after a new
        decision about it)."""
        logger.error("alias %r names version %s, which is not served: %s; still serving "
                     "version %s", self.alias, version, why, self.version)
        self._audit_event("model_swap_refused", model_version=version, alias=self.alias,
                          reason=why, serving=self.version, pid=os.getpid())

    def _withdraw_if_not_approved(self, registry: ModelRegistry) -> bool:
        """Stop serving the current version once its latest decision is a rejection, or
        its approval no longer holds for another reason start-up would refuse it."""
        if isinstance(self.current, NoModel):
            return False
        latest = latest_decision_in(self.settings, self.current.name, self.current.version)
        decision = latest.id if latest is not None else None
        if latest is not None and latest.decision == REJECT:
            why: str | None = rejected(latest)  # read alone: no file needs reading for it
        else:
            answer = self._approval.check(registry, self.current.version, decision)
            decision, why = answer.decision, answer.problem
        if why is None:
            return False
        previous = self.current
        self.current = NoModel(not_serving(previous.name, self.alias, why))
        self._gated[previous.version] = decision  # served again after a new decision
        logger.error("worker %d withdrew %s version %s: %s", os.getpid(), previous.name,
                     previous.version, why)
        self._audit_event("model_withdrawn", model_version=previous.version,
                          model_name=previous.name, alias=self.alias, reason=why,
                          pid=os.getpid())
        if self.on_swap is not None:
            self.on_swap(self.current)
        return True

    def _audit(self, scorer: Scorer, previous: Scorer) -> None:
        self._audit_event("model_swap", model_version=scorer.version, model_name=scorer.name,
                          alias=self.alias, previous_version=previous.version, pid=os.getpid())

    def _audit_event(self, action: str, *, model_version: str, **details: object) -> None:
        store = Store.from_settings(self.settings)
        try:
            with store.session() as session:
                commit_with_audit(session, [operator_event(
                    action, by="service", model_version=model_version, **details)])
        finally:
            store.dispose()
