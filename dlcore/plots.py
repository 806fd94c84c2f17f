"""Plotly figures for every page; built here so the pages only place them."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from dlcore.evaluation import METRIC_TITLES

MAX_BARS = 30


def null_fractions(profile: dict) -> go.Figure:
    """Percentage of missing values per column, largest first."""
    nulls = pd.Series({name: col["null_fraction"] * 100 for name, col in profile["columns"].items()})
    nulls = nulls.sort_values(ascending=False)
    fig = px.bar(x=nulls.index, y=nulls.values, labels={"x": "column", "y": "% missing"}, title="Missing values per column")
    fig.update_yaxes(range=[0, 100])
    fig.add_hline(y=10, line_dash="dot", annotation_text="10%: impute")
    fig.add_hline(y=30, line_dash="dash", annotation_text="30%: consider dropping")
    return fig


def histogram(frame: pd.DataFrame, column: str) -> go.Figure:
    return px.histogram(frame, x=column, nbins=40, title=f"Distribution of {column}")


def category_counts(frame: pd.DataFrame, column: str) -> go.Figure:
    """Bar plot of the most frequent levels of a categorical column."""
    counts = frame[column].astype("string").fillna("(missing)").value_counts().head(MAX_BARS)
    return px.bar(x=counts.index, y=counts.values, labels={"x": column, "y": "rows"},
                  title=f"{column}: top {len(counts)} levels")


def training_curves(history: pd.DataFrame, metric: str) -> go.Figure:
    """Train vs validation ``metric`` across epochs (``loss`` or a Keras metric name)."""
    fig = go.Figure()
    for key, name in ((metric, "training"), (f"val_{metric}", "validation")):
        if key in history:
            fig.add_trace(go.Scatter(x=history["epoch"], y=history[key], mode="lines+markers", name=name))
    title = METRIC_TITLES.get(metric, metric.capitalize())
    fig.update_layout(title=f"{title} per epoch", xaxis_title="epoch", yaxis_title=title, legend_title=None)
    return fig


def scores_against_baseline(test: dict, baseline: dict, metric: str) -> go.Figure:
    title = METRIC_TITLES.get(metric, metric)
    return px.bar(x=["Network", "Naive baseline"], y=[test[metric], baseline[metric]],
                  labels={"x": "", "y": title}, title=f"Test {title}")
