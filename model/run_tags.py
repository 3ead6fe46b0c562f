"""The tags a training run records about where it ran: Python, the platform, the key
packages' versions and the git commit of this code (`environment_tags`); the same
packages pinned as a registered model's requirements (`pinned_requirements`)."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Final

KEY_PACKAGES: Final = ("scikit-learn", "numpy", "pandas", "pyarrow", "shap", "skops", "mlflow")


def environment_tags() -> dict[str, str]:
    """Python, platform, key package versions and the git commit of this code."""
    tags = {"python": platform.python_version(), "platform": platform.platform()}
    for package in KEY_PACKAGES:
        try:
            tags[f"package.{package}"] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    tags["git_commit"] = _git("rev-parse", "HEAD") or "unknown"
    tags["git_dirty"] = str(bool(_git("status", "--porcelain", "--untracked-files=no")))
    return tags


def pinned_requirements() -> list[str]:
    """The key packages installed here, pinned (``scikit-learn==1.5.2``): what a registered
    model folder says it needs."""
    pins = []
    for package in KEY_PACKAGES:
        try:
            pins.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return pins


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10,
                              cwd=Path(__file__).resolve().parent, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""
