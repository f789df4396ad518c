"""Train a small scikit-learn classifier and register it as default.default.<name> in the local MLflow.

usage: train.py NAME [REQUIREMENT ...]   (default requirements: the installed scikit-learn and mlflow-skinny)
"""

from __future__ import annotations

import sys

import mlflow
import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LogisticRegression


def main(name: str, requirements: list[str]) -> None:
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0], [4.0, 4.0], [0.0, 4.0]])
    labels = np.repeat(np.arange(3), 50)
    points = centers[labels] + rng.normal(scale=0.6, size=(len(labels), 2))
    features = pd.DataFrame(points, columns=["x", "y"])
    model = LogisticRegression(max_iter=300).fit(features, labels)
    with mlflow.start_run(run_name="demo"):
        mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=f"default.default.{name}",
            pip_requirements=requirements
            or [f"scikit-learn=={sklearn.__version__}", f"mlflow-skinny=={mlflow.__version__}"],
            input_example=features.head(3),  # what the release verifies the deployed service with
        )
    print(f"registered default.default.{name} version 1 (accuracy {model.score(features, labels):.2f})")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
