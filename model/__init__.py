"""Triase model: Indonesian text pipeline, two-headed classifier and the predictor built on them."""
