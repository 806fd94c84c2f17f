"""Alerts read off a profile, each with a one-click fix that preparation understands.

An alert is ``{"column", "kind", "message", "fix"}``; ``fix`` is ``None`` or one of
``{"action": "exclude"}``, ``{"action": "kind", "value": KIND}``, ``{"action": "option", "value": {...}}``
(a per-column preparation option), ``{"action": "drop_duplicates"}`` or ``{"action": "class_weights"}``,
with a ``label`` for the button. :func:`apply_fix` turns a fix into the new kinds/options.
"""

from __future__ import annotations

from dlcore.decisions import IMBALANCED
from dlcore.runtime.encoders import MAX_ONEHOT_LEVELS, SKEWED, log_helps

SOME_MISSING = 0.10  # Moolayil: impute under this share of missing values
HIGH_MISSING = 0.30  # and consider dropping the column above this one
CORRELATED = 0.95
MIXED_TYPES = 0.5
LEAKAGE_R2 = 0.95
LEAKAGE_ACCURACY = 0.98


def find_alerts(profile: dict, kinds: dict[str, str]) -> list[dict]:
    """Every alert read off a table's ``profile``, with the columns' inferred ``kinds`` (so an applied fix stays
    listed); the target column itself is never flagged as a feature."""
    target = profile.get("target")
    alerts: list[dict] = []

    def add(column, kind, message, fix=None, label=None):
        alerts.append({"column": column, "kind": kind, "message": message,
                       "fix": {**fix, "label": label} if fix else None})

    for name, col in profile["columns"].items():
        if name == target:
            continue
        kind = kinds[name]
        if kind == "constant":
            add(name, "constant", f"{name} has a single value: it carries no information.",
                {"action": "exclude"}, "Exclude it")
        elif kind == "identifier":
            add(name, "identifier", f"{name} looks like an identifier (unique per row, a row number, or named like "
                "an id): a model would memorise it.", {"action": "exclude"}, "Exclude it")
        if col["null_fraction"] > HIGH_MISSING:
            add(name, "high_missing", f"{name} is {col['null_fraction']:.0%} missing (over {HIGH_MISSING:.0%}: consider "
                "dropping it).",
                {"action": "exclude"}, "Exclude it")
        if kind == "categorical" and col["unique"] > MAX_ONEHOT_LEVELS:
            add(name, "high_cardinality", f"{name} has {col['unique']:,} levels, too many for one-hot: Auto gives it a "
                "learned embedding (one input; rare levels share a code). Encoding by frequency is a simpler "
                "alternative.", {"action": "option", "value": {"encoding": "frequency"}}, "Encode by frequency")
        if kind == "numeric" and abs(col.get("skew") or 0) > SKEWED:
            helps = log_helps(col["skew"], (col.get("stats") or {}).get("min", -1))
            add(name, "skewed", f"{name} is skewed (skewness {col['skew']:.1f})"
                + ("; a log transform evens it out." if helps else "."),
                {"action": "option", "value": {"log": True}} if helps else None, "Log-transform it")
        if kind in ("categorical", "text") and MIXED_TYPES <= col.get("numeric_share", 0) < 1:
            add(name, "mixed_types", f"{name} mixes numbers ({col['numeric_share']:.0%} of values) with text.",
                {"action": "kind", "value": "numeric"}, "Treat as numeric (text becomes missing)")
    duplicates = profile["overview"]["duplicate_rows"]
    if duplicates:
        add(None, "duplicates", f"{duplicates:,} rows are exact duplicates of another row.",
            {"action": "drop_duplicates"}, "Drop duplicate rows")
    alerts.extend(_correlated(profile, target))
    if target is not None:
        minority = profile["target_profile"].get("minority_share")
        if minority is not None and minority < IMBALANCED:
            add(target, "imbalance", f"The rarest class of {target} is {minority:.1%} of the rows: accuracy flatters "
                "a model that ignores it.", {"action": "class_weights"}, "Weight classes in training")
        for name, message in _leakage(profile):
            add(name, "leakage", message, {"action": "exclude"}, "Exclude it")
    return alerts


def _correlated(profile: dict, target: str | None) -> list[dict]:
    corr = profile["correlations"]
    names, matrix = corr["columns"], corr["matrix"]
    alerts = []
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            r, b = matrix[i][j], names[j]
            if r is not None and abs(r) > CORRELATED and target not in (a, b):
                alerts.append({"column": b, "kind": "correlated",
                               "message": f"{a} and {b} are almost the same signal (correlation {r:+.2f}).",
                               "fix": {"action": "exclude", "label": f"Exclude {b}"}})
    return alerts


def _leakage(profile: dict) -> list[tuple[str, str]]:
    """Features that alone predict the target almost perfectly on held-out rows (e.g. a transform of it), read off
    the profile's ``association`` (:func:`dlcore.profiling.profile`)."""
    target, association = profile["target"], profile["association"]
    found = []
    for name, score in association["scores"].items():
        if association["measure"] == "R²" and score >= LEAKAGE_R2:
            found.append((name, f"{name} alone predicts {target} with R² {score:.3f} on held-out rows: "
                                "is it computed from the target (leakage)?"))
        if association["measure"] == "accuracy" and score >= LEAKAGE_ACCURACY and score > association["baseline"] + 0.01:
            found.append((name, f"{name} alone predicts {target} with {score:.1%} accuracy on held-out rows: "
                                "is it computed from the target (leakage)?"))
    return found


def apply_fix(fix: dict, column: str | None, kinds: dict[str, str], options: dict[str, dict]) -> None:
    """Record a column fix in ``kinds``/``options`` (dataset-wide fixes are applied by the caller)."""
    if fix["action"] == "exclude":
        kinds[column] = "excluded"
    elif fix["action"] == "kind":
        kinds[column] = fix["value"]
    elif fix["action"] == "option":
        options.setdefault(column, {}).update(fix["value"])
