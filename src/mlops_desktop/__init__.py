"""MLOps Desktop: from a local data file to an approved, monitored model, offline."""

__version__ = "0.1.0"
APP_NAME = "MLOps Desktop"
