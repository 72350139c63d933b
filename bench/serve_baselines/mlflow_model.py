"""Baseline: the model as an MLflow pyfunc model, served by ``mlflow models serve``.

    python mlflow_model.py <model dir> <out dir>     # in the mlflow venv: writes the MLflow model

The pyfunc wrapper does what the other servers do per request: raw records -> churn_features ->
predict_proba. ``features.py`` and this file travel with the model as code paths.
"""

import os
import sys

import mlflow.pyfunc
import pandas as pd


class ChurnModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        import joblib

        self.model = joblib.load(context.artifacts["model"])

    def predict(self, context, model_input, params=None):
        from features import churn_features

        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return self.model.predict_proba(churn_features(frame))[:, 1]


def save(model_dir: str, out: str) -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    mlflow.pyfunc.save_model(
        out,
        python_model=ChurnModel(),
        artifacts={"model": os.path.join(model_dir, "model.joblib")},
        code_paths=[os.path.join(model_dir, "features.py"), os.path.join(here, "mlflow_model.py")],
    )


if __name__ == "__main__":
    save(sys.argv[1], sys.argv[2])
