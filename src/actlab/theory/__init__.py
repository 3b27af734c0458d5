"""actlab.theory: what can be computed about an activation without training."""
