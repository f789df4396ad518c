"""MLflow deployments plugin for Tencent Cloud WeData model services."""

__version__ = "2.0.0.dev0"
