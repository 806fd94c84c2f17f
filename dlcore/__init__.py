"""dlcore: the UI-free engine behind the no-code deep learning app.

One module per concept, in the order of the workflow: ``decisions`` (kinds, task, target) and ``statistics`` →
``profiling`` (+ ``alerts``) → ``splitting``, ``prepared``, ``settings`` (one settings file, one path from a table to
prepared data) → ``baselines`` → ``architectures`` → ``training``, ``ensemble``, ``selection`` → ``evaluation``,
``comparison`` → ``export``; ``runs`` (the run folder), ``jobs`` (the queue and its backends), ``workers`` (what a
worker does with each kind of job), ``scheduler``, ``tuning``, ``explanations``, ``joins``, ``sessions``, ``plots``,
``samples``, ``cli``. ``runtime`` is the package a model bundle ships (reading, encoders, preparation, the predictor,
streaming, explanations of rows); it imports nothing from the rest. Importing ``dlcore`` never imports TensorFlow:
only building, training or loading a model does.
"""

import os

from dlcore.runtime.errors import DataError

# Keep TensorFlow's C++ start-up chatter (no GPU found, CPU flags) out of the app's and CLI's output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__all__ = ["DataError"]
__version__ = "0.1.0"
