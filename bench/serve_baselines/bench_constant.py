"""The ceiling's model: a python_function model that returns a constant score without any work.

Registered in a copy of the bench yard and served by the same modelyard server, so requests take
the same HTTP, validation, feature code, batching and logging path and only the model call goes.
The server process imports it by path (PYTHONPATH holds this folder).
"""

import numpy as np
import pandas as pd


def constant_scores(frame: pd.DataFrame) -> np.ndarray:
    return np.full(len(frame), 0.5)
