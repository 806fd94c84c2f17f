"""dlcore: the UI-free engine behind the no-code deep learning app.

One module per stage of the workflow: ``loading`` → ``profiling`` (+ ``alerts``) →
``encoders``, ``preparation``, ``splitting``, ``prepared`` → ``baselines`` → ``architectures``
→ ``training`` → ``evaluation`` → ``export``, and ``inference`` (the model bundle's runtime),
plus ``plots`` (plotly figures), ``samples`` (bundled data sets), ``runs`` (the run
folder), ``jobs`` (the queue, the worker and its local and Ray backends), ``files``
(atomic writes) and ``cli`` (``python -m dlcore``). Importing ``dlcore`` never imports
TensorFlow: only building, training or loading a model does.
"""

import os

from dlcore.errors import DataError

# Keep TensorFlow's C++ start-up chatter (no GPU found, CPU flags) out of the app's and CLI's output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__all__ = ["DataError"]
__version__ = "0.1.0"
