"""Releases: every deployment recorded in the user's MLflow tracking store as it runs (``record``), and read back
(``history``)."""
