"""Models: training, calibrated scores and bands, explanations, registry."""
