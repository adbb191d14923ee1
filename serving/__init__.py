"""The prediction service: FastAPI app, model loading, API keys, metrics and the service database."""
