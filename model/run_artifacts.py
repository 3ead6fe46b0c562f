"""Where a registered version's files lie in its run and model folder: names only, so a
command that lists or checks versions (`safeguard model list`) imports none of the
modules that write them (the fairness audit's scipy, the golden set's pandas)."""

from __future__ import annotations

from typing import Final

FAIRNESS_DIR: Final = "fairness"
FAIRNESS_JSON: Final = "fairness.json"
FAIRNESS_HTML: Final = "fairness.html"
FAIRNESS_ARTIFACT: Final = f"{FAIRNESS_DIR}/{FAIRNESS_JSON}"
FAIRNESS_HTML_ARTIFACT: Final = f"{FAIRNESS_DIR}/{FAIRNESS_HTML}"
# The latest fairness audit of an extract (`safeguard audit fairness`), every figure kept,
# recorded with the version's run for the approval gate (`model.audit_acceptance`); each
# audit replaces the one before.
EXTRACT_AUDIT_DIR: Final = "fairness_audit"
EXTRACT_AUDIT_ARTIFACT: Final = f"{EXTRACT_AUDIT_DIR}/{FAIRNESS_JSON}"
EXTRACT_AUDIT_HTML_ARTIFACT: Final = f"{EXTRACT_AUDIT_DIR}/{FAIRNESS_HTML}"
# The golden set, in the model folder beside the model (`model.golden`).
GOLDEN_FILE: Final = "golden_cases.json"
# The model folder inside a version's run (the registered version's source).
MODEL_ARTIFACT: Final = "risk_model"
# The feature manifest a version was trained on (`model.trained_manifest`): a copy in the
# model folder, and the run's evaluation copy every `safeguard train` has written.
FEATURE_MANIFEST: Final = "feature_manifest.json"
RUN_FEATURE_MANIFEST: Final = f"evaluation/{FEATURE_MANIFEST}"
# The key of the run's training report (`evaluation/training_report.json`) holding the
# warnings about the training extract's date (`data_contracts.extract_date`), for the card.
EXTRACT_DATE_WARNINGS: Final = "extract_date_warnings"
