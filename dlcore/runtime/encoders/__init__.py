"""One class per encoding: how one raw column becomes some of the network's input columns.

Every encoder has scikit-learn's shape: options go to the constructor, :meth:`Encoder.fit` learns its state from
the training rows only (attributes ending in ``_``), :meth:`Encoder.transform` turns any rows into a float matrix
with one column per name in ``features_``; and Keras' ``get_config``/:func:`from_config`, to and from plain JSON,
so a fitted encoder travels with the model without pickle. :meth:`Encoder.read` gives the column as the encoder
reads it (numbers, dates or levels), ``seen_`` what the training rows held, ``unseen`` how a value never seen in
training is handled, and :meth:`Encoder.describe` a line for the Prepare page.

:data:`ENCODERS` is the registry, encoding name → class; :func:`fit_encoder` is the only place that chooses an
encoder for a column's kind ("auto": the first in :data:`PREFERENCE` for the kind whose ``suits`` accepts the
training values). A new encoding is a new class in the module of its kind, registered with :func:`register` and
placed in :data:`PREFERENCE`, declaring its fitted attributes' checks in ``fitted``: :func:`from_config` reads a
config from a file (a bundle may come from anyone) only after checking them, with bounded lengths
(:data:`MAX_LEVELS`, :data:`MAX_FEATURES`), and refuses anything else with :class:`InvalidConfig`, which names the
column and what is wrong.

Hand-written, and why: each transform is a few lines of arithmetic on statistics stored as numbers (medians,
scales, level lists, quantiles), because scikit-learn's fitted transformers can only be saved by pickling them,
which a bundle must never need. The quantile-to-normal mapping follows scikit-learn's ``QuantileTransformer``;
piecewise-linear encoding has no scikit-learn or Keras counterpart (``KBinsDiscretizer`` only gives bin indicators).
The package is part of the model bundle's runtime. Importing it registers every encoding, in the order of
preference that :func:`fit_encoder`'s "auto" follows within each kind.
"""

from dlcore.runtime.encoders.base import (
    AUTO, BOOLEAN_WORDS, CATEGORY_FEATURE, ENCODERS, FLAG_FEATURE, KINDS, MAX_FEATURES, MAX_LEVELS, MAX_ONEHOT_LEVELS,
    MISSING, NUMBER_FEATURE, OTHER, PREFERENCE, SCALE_TITLES, SKEWED, Encoder, InvalidConfig, choice_title, encodings,
    fit_encoder, from_config, is_number, log_helps, number, parse_dates, register, skewness, std_of, what_is,
)
from dlcore.runtime.encoders.categories import Boolean, Embedding, Frequency, OneHot
from dlcore.runtime.encoders.dates import DateParts
from dlcore.runtime.encoders.excluded import Excluded
from dlcore.runtime.encoders.numeric import Numeric, NumberInText, PiecewiseLinear, holds_numbers

__all__ = [  # the package's interface; importing it registers every encoding
    "AUTO", "Boolean", "BOOLEAN_WORDS", "CATEGORY_FEATURE", "choice_title", "DateParts", "Embedding", "Encoder",
    "ENCODERS", "encodings", "Excluded", "fit_encoder", "FLAG_FEATURE", "Frequency", "from_config", "holds_numbers",
    "InvalidConfig", "is_number", "KINDS", "log_helps", "MAX_FEATURES", "MAX_LEVELS", "MAX_ONEHOT_LEVELS",
    "MISSING", "number", "NUMBER_FEATURE", "NumberInText", "Numeric", "OneHot", "OTHER", "parse_dates",
    "PiecewiseLinear", "PREFERENCE", "register", "SCALE_TITLES", "SKEWED", "skewness", "std_of", "what_is",
]
