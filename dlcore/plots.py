"""Plotly figures for every page; built here so the pages only place them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dlcore.alerts import HIGH_MISSING, SOME_MISSING
from dlcore.evaluation import METRIC_TITLES

# Reference lines (chance, zero, thresholds, the best epoch) and error bars: a mid grey that reads on both of
# Streamlit's backgrounds (contrast 3.4:1 on white, 5.6:1 on the dark theme's), where plotly's default is near black.
REFERENCE = "#8C8C8C"
# Points coloured by a value (low → high): blue, grey-violet, red, each at least 3:1 on both backgrounds, where
# RdBu's white middle vanishes on a light page and Viridis' dark end on a dark one.
VALUE_SCALE = [[0.0, "#2166AC"], [0.5, "#8F8AC0"], [1.0, "#D6604D"]]

def null_fractions(profile: dict, limit: int = 60) -> go.Figure:
    """Percentage of missing values per column, largest first; of a wide table, the ``limit`` columns most missing."""
    nulls = pd.Series({name: col["null_fraction"] * 100 for name, col in profile["columns"].items()})
    nulls = nulls.sort_values(ascending=False, kind="stable")
    title = "Missing values per column"
    if len(nulls) > limit:
        nulls = nulls[nulls > 0].head(limit)
        title += f" (the {len(nulls)} most missing of {profile['overview']['columns']:,})"
    fig = px.bar(x=nulls.index, y=nulls.values, labels={"x": "column", "y": "% missing"}, title=title)
    fig.update_yaxes(range=[0, 100])
    fig.add_hline(y=100 * SOME_MISSING, line_dash="dot", line_color=REFERENCE,
                  annotation_text=f"{SOME_MISSING:.0%}: impute")
    fig.add_hline(y=100 * HIGH_MISSING, line_dash="dash", line_color=REFERENCE,
                  annotation_text=f"{HIGH_MISSING:.0%}: consider dropping")
    return fig


def histogram(name: str, column: dict) -> go.Figure:
    """Histogram of a numeric column from its profile (bins computed over every row)."""
    hist = column["histogram"]
    edges = hist["edges"]
    centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    fig = go.Figure(go.Bar(x=centers, y=hist["counts"], width=[b - a for a, b in zip(edges[:-1], edges[1:])],
                           name=name))
    fig.update_layout(title=f"Distribution of {name}", xaxis_title=name, yaxis_title="rows", bargap=0.02)
    return fig


def category_counts(name: str, column: dict) -> go.Figure:
    """Bar plot of the most frequent levels of a categorical column, from its profile."""
    top = column["top_values"]
    title = f"{name}: {column['unique']:,} levels" + (f", top {len(top)} shown" if column["unique"] > len(top) else "")
    return px.bar(x=list(top), y=list(top.values()), labels={"x": name, "y": "rows"}, title=title)


def date_counts(name: str, column: dict) -> go.Figure:
    """Rows per year, month or day of a datetime column."""
    counts = column["counts"]
    unit = {"YS": "year", "MS": "month", "D": "day"}[counts["period"]]
    return px.bar(x=counts["start"], y=counts["rows"], labels={"x": unit, "y": "rows"},
                  title=f"{name}: rows per {unit} ({column['min'][:10]} to {column['max'][:10]})")


def target_distribution(profile: dict) -> go.Figure:
    """Class balance (classification) or histogram (regression) of the target."""
    target, summary = profile["target"], profile["target_profile"]
    if profile["task"] == "regression":
        return histogram(target, summary)
    classes = summary["classes"]
    return px.bar(x=list(classes), y=list(classes.values()), labels={"x": target, "y": "rows"},
                  title=f"Class balance of {target}")


def against_target(name: str, relation: dict, target: str) -> go.Figure:
    """A column against the target: paired bars per level (mean target and row count, as in the book),
    boxes per class, or the mean target per quantile bin."""
    if relation["type"] == "levels":
        fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                            subplot_titles=(relation["measure"], "rows"))
        fig.add_trace(go.Bar(x=relation["levels"], y=relation["mean"], name=relation["measure"]), row=1, col=1)
        fig.add_trace(go.Bar(x=relation["levels"], y=relation["count"], name="rows"), row=2, col=1)
        fig.update_layout(title=f"{name} against {target}", showlegend=False)
        return fig
    if relation["type"] == "boxes":
        fig = go.Figure([go.Box(name=label, q1=[b["q1"]], median=[b["median"]], q3=[b["q3"]],
                                lowerfence=[b["low"]], upperfence=[b["high"]]) for label, b in relation["classes"].items()])
        fig.update_layout(title=f"{name} by {target}", xaxis_title=target, yaxis_title=name, showlegend=False)
        return fig
    fig = px.line(x=relation["centers"], y=relation["mean"], markers=True, labels={"x": f"{name} (bin mean)",
                  "y": f"mean {target}"}, title=f"Mean {target} across {name}")
    return fig


def correlations(profile: dict) -> go.Figure:
    corr = profile["correlations"]
    fig = px.imshow(corr["matrix"], x=corr["columns"], y=corr["columns"], zmin=-1, zmax=1,
                    color_continuous_scale="RdBu_r", title="Correlation of numeric columns")
    fig.update_layout(height=max(400, 22 * len(corr["columns"])))
    return fig


def training_curves(history: pd.DataFrame, metric: str, smoothing: float = 0.0, best_epoch: int | None = None
                    ) -> go.Figure:
    """Train vs validation ``metric`` across epochs (``loss``, a Keras metric name or ``learning_rate``),
    optionally smoothed with an exponential moving average (``smoothing`` in [0, 1)), best epoch marked."""
    fig = go.Figure()
    for key, name in ((metric, "training"), (f"val_{metric}", "validation")):
        if key in history:
            values = history[key].ewm(alpha=1 - smoothing).mean() if smoothing else history[key]
            fig.add_trace(go.Scatter(x=history["epoch"], y=values, mode="lines+markers", name=name))
    if best_epoch:
        fig.add_vline(x=best_epoch, line_dash="dot", line_color=REFERENCE, annotation_text="best")
    title = METRIC_TITLES.get(metric, metric.replace("_", " ").capitalize())
    fig.update_layout(title=f"{title} per epoch", xaxis_title="epoch", yaxis_title=title, legend_title=None)
    _whole_ticks(fig, len(history))
    if metric == "learning_rate" and metric in history and len(history):  # from 0, so a constant rate reads as one
        fig.update_yaxes(range=[0, 1.1 * float(history[metric].max())], tickformat=".2g")
    return fig


def _whole_ticks(fig: go.Figure, count: int) -> None:
    """Ticks of the x axis on whole numbers (epochs, trials), about ten at most: never 0.5 of an epoch."""
    fig.update_xaxes(tickmode="linear", tick0=0, dtick=max(1, math.ceil(count / 10)), tickformat="d")


def member_curves(histories: list[pd.DataFrame], metric: str = "loss", smoothing: float = 0.0) -> go.Figure:
    """The validation ``metric`` of each member of an ensemble across its epochs (each on the fold it holds out),
    so the members' curves and stopping points read side by side."""
    fig = go.Figure()
    for number, history in enumerate(histories, 1):
        if len(history) and f"val_{metric}" in history:
            values = history[f"val_{metric}"]
            values = values.ewm(alpha=1 - smoothing).mean() if smoothing else values
            fig.add_trace(go.Scatter(x=history["epoch"], y=values, mode="lines", name=f"member {number}"))
    title = METRIC_TITLES.get(metric, metric.replace("_", " ").capitalize())
    fig.update_layout(title=f"Validation {title.lower()} per epoch, each member on its held-out fold",
                      xaxis_title="epoch", yaxis_title=title, legend_title=None)
    return fig


def scores_by_model(scores: dict[str, float], metric: str) -> go.Figure:
    """The test ``metric`` of the network and of every baseline, side by side."""
    title = METRIC_TITLES.get(metric, metric)
    return px.bar(x=list(scores), y=list(scores.values()), labels={"x": "", "y": title}, title=f"Test {title}")


MAX_POINTS = 10_000


def confusion_matrix(table: pd.DataFrame, normalized: bool = False) -> go.Figure:
    """Actual (rows) against predicted (columns) classes: counts, or each actual class's shares."""
    fig = px.imshow(table, text_auto=".2f" if normalized else True, color_continuous_scale="Blues",
                    zmin=0, zmax=1 if normalized else None, aspect="auto",
                    labels={"x": "predicted", "y": "actual", "color": "share" if normalized else "rows"},
                    title="Confusion matrix, " + ("shares of each actual class" if normalized else "counts"))
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category")
    return fig


def roc_curves(curves: dict) -> go.Figure:
    """ROC curve per class (:func:`dlcore.evaluation.roc_curves`) with its AUC, and the chance diagonal."""
    fig = go.Figure([go.Scatter(x=c.x, y=c.y, mode="lines", name=f"{label} (AUC {c.area:.3f})")
                     for label, c in curves.items()])
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": REFERENCE},
                             name="chance (AUC 0.5)"))
    fig.update_layout(title="ROC curve", xaxis_title="false positive rate", yaxis_title="true positive rate",
                      legend_title=None)
    return fig


def precision_recall_curves(curves: dict) -> go.Figure:
    """Precision against recall per class (:func:`dlcore.evaluation.precision_recall_curves`), with its average
    precision and the class's share (what guessing scores) as a dotted line."""
    fig = go.Figure()
    for label, c in curves.items():
        fig.add_trace(go.Scatter(x=c.x, y=c.y, mode="lines", name=f"{label} (AP {c.area:.3f})"))
        fig.add_hline(y=c.chance, line_dash="dot", line_color=REFERENCE,
                      annotation_text=f"{label}: share {c.chance:.2f}")
    fig.update_layout(title="Precision-recall curve", xaxis_title="recall", yaxis_title="precision",
                      legend_title=None, yaxis_range=[0, 1.05])
    return fig


def threshold_metrics(table: pd.DataFrame, threshold: float, positive: str) -> go.Figure:
    """Metrics across probability thresholds (:func:`dlcore.evaluation.threshold_table`), the chosen one marked."""
    fig = go.Figure([go.Scatter(x=table["threshold"], y=table[name], mode="lines+markers",
                                name=METRIC_TITLES.get(name, name))
                     for name in table.columns if name != "threshold"])
    fig.add_vline(x=threshold, line_dash="dot", line_color=REFERENCE, annotation_text=f"{threshold:.2f}")
    fig.update_layout(title=f"Metrics when {positive!r} is predicted above a threshold", xaxis_title="threshold",
                      yaxis_title="score", legend_title=None)
    return fig


def calibration(table: pd.DataFrame) -> go.Figure:
    """Observed share against mean predicted probability per bin (:func:`dlcore.evaluation.calibration`);
    a calibrated model lies on the diagonal."""
    fig = go.Figure(go.Scatter(x=table["predicted"], y=table["observed"], mode="lines+markers", name="model",
                               customdata=table["rows"], hovertemplate="predicted %{x:.2f}<br>observed %{y:.2f}"
                                                                       "<br>%{customdata} rows<extra></extra>"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": REFERENCE},
                             name="calibrated"))
    fig.update_layout(title="Calibration", xaxis_title="mean predicted probability", yaxis_title="observed share",
                      legend_title=None, xaxis_range=[0, 1], yaxis_range=[0, 1])
    return fig


def _sample(compared: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    if len(compared) <= MAX_POINTS:
        return compared, ""
    return compared.sample(MAX_POINTS, random_state=0), f" ({MAX_POINTS:,} of {len(compared):,} rows shown)"


def predicted_vs_actual(compared: pd.DataFrame, target: str) -> go.Figure:
    """Predicted against actual values (:func:`dlcore.evaluation.compare`); perfect predictions lie on the diagonal."""
    shown, note = _sample(compared)
    low, high = float(compared[["actual", "predicted"]].min().min()), float(compared[["actual", "predicted"]].max().max())
    fig = go.Figure(go.Scattergl(x=shown["actual"], y=shown["predicted"], mode="markers", name="test rows",
                                 marker={"opacity": 0.5}))
    fig.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", line={"dash": "dot", "color": REFERENCE},
                             name="perfect"))
    fig.update_layout(title=f"Predicted against actual {target}{note}", xaxis_title=f"actual {target}",
                      yaxis_title=f"predicted {target}", legend_title=None)
    return fig


def residuals(compared: pd.DataFrame, target: str) -> go.Figure:
    """Errors (predicted − actual) against predicted values: a pattern means the model misses something."""
    shown, note = _sample(compared)
    fig = go.Figure(go.Scattergl(x=shown["predicted"], y=shown["error"], mode="markers", marker={"opacity": 0.5}))
    fig.add_hline(y=0, line_dash="dot", line_color=REFERENCE)
    fig.update_layout(title=f"Errors against predictions{note}", xaxis_title=f"predicted {target}",
                      yaxis_title="error (predicted − actual)")
    return fig


def error_histogram(compared: pd.DataFrame, target: str) -> go.Figure:
    """How the errors (predicted − actual) are spread."""
    fig = px.histogram(compared, x="error", nbins=50, labels={"error": f"error in {target} (predicted − actual)"},
                       title="Distribution of the errors")
    fig.update_layout(yaxis_title="rows")
    return fig


# -- explanations (dlcore.explanations) ----------------------------------------------------------------------------
TOP_COLUMNS = 20


def importance(shap_table: pd.DataFrame, permutation: pd.DataFrame | None = None, metric: str = "",
               top: int = TOP_COLUMNS) -> go.Figure:
    """Mean |SHAP| per column (:meth:`Explanation.importance`), and beside it the drop in the test score when the
    column is shuffled (:func:`dlcore.explanations.permutation_importance`), in SHAP's order, most important on top."""
    shown = shap_table.head(top).iloc[::-1]
    columns = 2 if permutation is not None and len(permutation) else 1
    title = METRIC_TITLES.get(metric, metric)
    fig = make_subplots(rows=1, cols=columns, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=("SHAP: mean |effect| on the prediction",
                                        f"Permutation: drop in test {title}")[:columns])
    fig.add_trace(go.Bar(x=shown["mean_abs_shap"], y=shown["column"], orientation="h", name="mean |SHAP|"),
                  row=1, col=1)
    if columns == 2:
        drops = permutation.set_index("column").reindex(shown["column"])
        fig.add_trace(go.Bar(x=drops["drop"], y=shown["column"], orientation="h", name=f"drop in {title}",
                             error_x={"type": "data", "array": drops["spread"], "color": REFERENCE}),
                      row=1, col=2)
    more = f": the top {top} of {len(shap_table)}" if len(shap_table) > top else ""
    fig.update_layout(title=f"Columns by importance{more}", showlegend=False, height=max(320, 26 * len(shown) + 120))
    fig.update_yaxes(type="category")
    return fig


def beeswarm(explanation, output: int = 0, top: int = TOP_COLUMNS) -> go.Figure:
    """One dot per explained row and column: its SHAP value (x), the column (y, most important on top, jittered),
    coloured by the value's rank among the rows (low blue, high red; grey for levels, which have no order)."""
    order = explanation.importance(output)["column"].head(top).tolist()[::-1]
    ranks = explanation.value_ranks()
    rng = np.random.default_rng(0)
    xs, ys, colours, texts = [], [], [], []
    for position, name in enumerate(order):
        j = explanation.columns.index(name)
        values = explanation.values[:, j, output]
        xs.extend(values)
        ys.extend(position + rng.uniform(-0.3, 0.3, len(values)))
        colours.extend(ranks[name].to_numpy())
        texts.extend(f"{name} = {value}" for value in explanation.rows[name])
    colours = np.asarray(colours, dtype=float)
    ordered = ~np.isnan(colours)
    fig = go.Figure()
    fig.add_trace(go.Scattergl(
        x=np.asarray(xs)[ordered], y=np.asarray(ys)[ordered], mode="markers", text=np.asarray(texts)[ordered],
        hovertemplate="%{text}<br>SHAP %{x:.4g}<extra></extra>", name="value rank",
        marker={"color": colours[ordered], "colorscale": VALUE_SCALE, "cmin": 0, "cmax": 1, "size": 6, "opacity": 0.7,
                "colorbar": {"title": "value", "tickvals": [0, 1], "ticktext": ["low", "high"]}}))
    if (~ordered).any():
        fig.add_trace(go.Scattergl(
            x=np.asarray(xs)[~ordered], y=np.asarray(ys)[~ordered], mode="markers", text=np.asarray(texts)[~ordered],
            hovertemplate="%{text}<br>SHAP %{x:.4g}<extra></extra>", name="levels",
            marker={"color": REFERENCE, "size": 6, "opacity": 0.6}))
    fig.add_vline(x=0, line_dash="dot", line_color=REFERENCE)
    fig.update_yaxes(tickvals=list(range(len(order))), ticktext=order)
    fig.update_layout(title=f"How each column pushes the {explanation.outputs[output]}", showlegend=False,
                      xaxis_title=f"SHAP value (effect on the {explanation.outputs[output]})",
                      height=max(320, 30 * len(order) + 120))
    return fig


def dependence(explanation, column: str, output: int = 0) -> go.Figure:
    """A column's value (x) against its SHAP value (y) for every explained row: how the model's use of the column
    changes across its values."""
    j = explanation.columns.index(column)
    values = explanation.rows[column]
    numeric = pd.to_numeric(values, errors="coerce")
    x = numeric if numeric.notna().sum() >= 0.5 * max(values.notna().sum(), 1) else values.astype(str)
    fig = go.Figure(go.Scattergl(x=x, y=explanation.values[:, j, output], mode="markers", name=column,
                                 marker={"opacity": 0.7, "color": explanation.predictions[:, output],
                                         "colorscale": VALUE_SCALE, "colorbar": {"title": "prediction"}},
                                 hovertemplate=f"{column} = %{{x}}<br>SHAP %{{y:.4g}}<extra></extra>"))
    fig.add_hline(y=0, line_dash="dot", line_color=REFERENCE)
    if x is not numeric:
        fig.update_xaxes(type="category")
    fig.update_layout(title=f"{column}: its value against its effect on the {explanation.outputs[output]}",
                      xaxis_title=column, yaxis_title="SHAP value")
    return fig


def waterfall(explanation, row: int = 0, output: int = 0, top: int = 10) -> go.Figure:
    """One prediction explained: from the base value (the mean prediction over the background rows), each
    column's contribution, largest first (the rest grouped), to the prediction."""
    values = explanation.values[row, :, output]
    order = np.argsort(-np.abs(values), kind="stable")
    shown, rest = order[:top], order[top:]
    labels = [f"{explanation.columns[j]} = {explanation.rows.iloc[row][explanation.columns[j]]}" for j in shown]
    steps = [float(values[j]) for j in shown]
    if len(rest):
        labels.append(f"{len(rest)} other columns")
        steps.append(float(values[rest].sum()))
    base, prediction = float(explanation.base_values[output]), float(explanation.predictions[row, output])
    fig = go.Figure(go.Waterfall(
        orientation="h", y=["base value", *labels, "prediction"], x=[base, *steps, prediction],
        measure=["absolute", *["relative"] * len(steps), "total"], textposition="outside",
        text=[f"{base:.4g}", *(f"{s:+.3g}" for s in steps), f"{prediction:.4g}"],
        increasing={"marker": {"color": "#d6604d"}}, decreasing={"marker": {"color": "#4393c3"}},
        totals={"marker": {"color": REFERENCE}}))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(title=f"Why this row's {explanation.outputs[output]} is {prediction:.4g}",
                      xaxis_title=explanation.outputs[output], showlegend=False, height=max(320, 30 * len(labels) + 160))
    return fig



def tuning_history(study) -> go.Figure:
    """Optuna's optimization history of a tune: each finished trial's best validation loss and the best so far."""
    from optuna.visualization import plot_optimization_history

    fig = plot_optimization_history(study, target_name="Validation loss")
    for trace in fig.data:
        if trace.name == "Best Value":
            trace.name = "Best so far"
    fig.update_layout(title="Validation loss by trial (lower is better)", xaxis_title="trial",
                      yaxis_title="validation loss", yaxis_automargin=True)  # a short axis title: none is clipped
    _whole_ticks(fig, len(study.trials))
    return fig


def tuning_importances(study, labels: dict[str, str] | None = None) -> go.Figure:
    """Optuna's parameter importances (fANOVA, seeded so the chart is stable): how much of the spread of the finished
    trials' validation losses each searched setting explains, named by ``labels``. Needs two finished trials."""
    from optuna.importance import FanovaImportanceEvaluator
    from optuna.visualization import plot_param_importances

    fig = plot_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0), target_name="Validation loss")
    for trace in fig.data:
        trace.y = [(labels or {}).get(name, name) for name in trace.y]
    fig.update_layout(title="Which settings mattered", xaxis_title="share of the loss's variation",
                      yaxis_title=None, yaxis_automargin=True)  # the settings' names say what the axis holds
    return fig
