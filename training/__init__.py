"""Triase training: data loading and validation, training, evaluation, MLflow tracking and the CLI."""
