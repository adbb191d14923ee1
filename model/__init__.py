"""Triase model: Indonesian text pipeline, two-headed classifier and the predictor built on them."""

# How a Triase model is known in MLflow: the registered name and the key of its pickled `TriageModel` among the
# logged model's artifacts. Kept here, where importing them imports nothing else, so that settings and the
# service's start-up helper (serving/fetch.py) do not have to load scikit-learn to name a model.
MODEL_NAME = "complaint-triage"
ARTIFACT_KEY = "triage_model"
