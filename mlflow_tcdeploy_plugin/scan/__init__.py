"""The dependency gate: a model's Python requirements go through Trivy and a policy before it is deployed."""
