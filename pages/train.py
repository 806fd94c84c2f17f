"""Train: a background job with live curves, a progress bar, and a Stop that keeps the best weights."""

import dataclasses

import pandas as pd
import streamlit as st

from dlcore import plots
from dlcore.runs import TrainingJob, new_run_dir
from dlcore.training import overfitting_hints
from pages.shared import architecture, folds, prepared, require, show_run

state = st.session_state
job = state.job
running = job is not None and not job.done

if state.dataset is None or not state.target:
    if job is None:
        require("dataset", "target")
    st.info("This run's data is not loaded in this browser session: load it on Upload to train again.",
            icon=":material/info:")
    st.button("Stop", icon=":material/stop:", disabled=not running, on_click=job.stop if running else None)
else:
    data = prepared()
    arch = architecture()
    config = dataclasses.replace(state.train_config, seed=state.seed)
    st.caption(f"{arch.title} on {data.x_train.shape[1]} inputs; up to {config.epochs} epochs, early stopping after "
               f"{config.patience} epochs without improvement. Reproducible: the same data, settings and seed "
               f"({config.seed}) give the same model and scores.")

    def start_training() -> None:
        show_run(TrainingJob(data, arch, config, new_run_dir(), folds=folds(), dataset=state.dataset.name,
                             owner=state.owner).start())

    with st.container(horizontal=True):
        st.button("Train", type="primary", icon=":material/play_arrow:", disabled=running, on_click=start_training)
        st.button("Stop", icon=":material/stop:", disabled=not running, on_click=job.stop if running else None)


@st.fragment(run_every=1.0 if running else None)
def live_view() -> None:
    job = st.session_state.job
    if job is None:
        st.info("Press **Train** to start. You can visit other pages while it trains; the run's address stays "
                "in the URL, so a refresh finds it again.", icon=":material/info:")
        return
    history = pd.DataFrame(list(job.history))
    epochs, max_epochs = len(history), job.info["max_epochs"]
    timing = f"{job.elapsed:.0f} s"
    if not job.done and epochs:
        timing += f", at most {job.elapsed / epochs * (max_epochs - epochs):.0f} s left"
    st.progress(min(epochs / max_epochs, 1.0),
                text=f"Epoch {epochs} of at most {max_epochs} · {timing} · {job.phase or job.status}")
    if epochs:
        best = int(history["val_loss"].idxmin()) + 1
        st.caption(f"Best epoch so far: {best} (validation loss {history['val_loss'].min():.4g}).")
        smoothing = st.slider("Smoothing", 0.0, 0.9, 0.0, 0.1, key="train_smoothing",
                              help="Exponential moving average of the curves; 0 shows the raw values.")
        metric = next(k for k in history.columns if k not in ("epoch", "loss", "learning_rate")
                      and not k.startswith("val_"))
        left, right = st.columns(2)
        left.plotly_chart(plots.training_curves(history, "loss", smoothing, best), key="loss_curve",
                          alt="Training and validation loss per epoch")
        right.plotly_chart(plots.training_curves(history, metric, smoothing, best), key="metric_curve",
                           alt=f"Training and validation {metric} per epoch")
        if job.done and job.config is not None:
            for hint in overfitting_hints(history, job.config.patience):
                st.info(hint, icon=":material/lightbulb:")
        if "learning_rate" in history:
            st.plotly_chart(plots.training_curves(history, "learning_rate"), key="lr_curve",
                            alt="Learning rate per epoch")
    if job.status in ("failed", "interrupted"):
        st.error(f"Training {job.status}: {job.error}", icon=":material/error:")
    elif job.done:
        verb = "stopped" if job.status == "stopped" else "finished"
        st.success(f"Training {verb} after {job.metrics['epochs_run']} epochs; best weights from epoch "
                   f"{job.metrics['best_epoch']} kept.", icon=":material/check_circle:")
        st.page_link("pages/results.py", label="See results and download", icon=":material/arrow_forward:")
        if running:
            st.rerun()


live_view()
