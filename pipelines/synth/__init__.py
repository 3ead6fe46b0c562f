"""`safeguard synth`: a realistic, deterministic synthetic multi-agency extract.

The generative model and its documented latent risk are described in
``pipelines/SYNTHETIC_DATA.md``.
"""

from pipelines.synth.config import SynthConfig
from pipelines.synth.generate import ExtractSummary, generate_extract
from pipelines.synth.model import SyntheticData, generate_data

__all__ = ["ExtractSummary", "SynthConfig", "SyntheticData", "generate_data", "generate_extract"]
