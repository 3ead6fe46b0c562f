"""One trained model for the benchmarks that need one, trained once by `bench/suite.py`.

A model folder has the layout of `bench_api.py`'s state folder (`state_settings`): an
MLflow store (``mlflow.db``, ``mlartifacts/``) whose model ``safeguard-risk`` has the
alias ``champion``, with its model card, and the extract it was trained on in
``extract/`` (bench_api.py picks its case there), with its truth in ``truth.parquet``
when given. The scripts take it with ``--model
DIR`` (bench_api.py, bench_load.py and bench_api_inprocess.py with ``--state DIR``) and
train their own model when run without it.

Run: .venv/bin/python bench/shared_model.py --extract DIR [--truth FILE] --out DIR
"""

from __future__ import annotations

import argparse
import shutil
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from bare_fleet import bench_registry
from bench_api import state_settings

if TYPE_CHECKING:
    from model.registry import ModelRegistry

ALIAS = "champion"


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    """``--model DIR``: use the model in that folder instead of training one."""
    parser.add_argument("--model", type=Path, default=None, metavar="DIR",
                        help="a model folder of bench/shared_model.py (bench/suite.py trains "
                             "one for all the scripts); without it the script trains its own")


def model_registry(folder: Path) -> ModelRegistry:
    """The registry of a model folder; its model is `ALIAS`."""
    return bench_registry(state_settings(folder.resolve()))


def train_shared_model(extract: Path, folder: Path, truth: Path | None = None) -> str:
    """Train on `extract` into a fresh model folder, card written, promoted; the version.

    The generator's `truth` of the extract, when given, is linked in as ``truth.parquet``
    (bench_explain.py takes its labels from it)."""
    from bench_service import bench_board

    from api.model_card import log_card
    from model.train import TrainingConfig
    from model.workflow import train_and_register

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "extract").symlink_to(extract.resolve(), target_is_directory=True)
    if truth is not None:
        (folder / "truth.parquet").symlink_to(truth.resolve())
    registry = model_registry(folder)
    outcome = train_and_register(folder / "extract", registry=registry, experiment="bench",
                                 config=TrainingConfig(),
                                 card_writer=partial(log_card, board=bench_board()))
    registry.promote(outcome.version.version, ALIAS)
    print("stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in outcome.seconds.items()))
    return outcome.version.version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extract", type=Path, required=True)
    parser.add_argument("--truth", type=Path, default=None,
                        help="the generator's truth of the extract (for bench_explain.py)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    version = train_shared_model(args.extract, args.out, args.truth)
    print(f"model version {version} ({ALIAS}) in {args.out}, trained on {args.extract} in "
          f"{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
