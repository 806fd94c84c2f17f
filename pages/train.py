"""Train: a background job with live curves, a progress bar, and a Stop that keeps the best weights."""

import dataclasses

import pandas as pd
import streamlit as st

from dlcore import plots
from dlcore.architectures import output_head
from dlcore.runs import TrainingJob, new_run_dir
from pages.shared import architecture, folds, prepared, require

require("dataset", "target")
state = st.session_state
data = prepared()
arch = architecture()
config = dataclasses.replace(state.train_config, seed=state.seed)
metric = output_head(data.task, 0)["metrics"][0]

st.caption(f"{arch.title} on {data.x_train.shape[1]} inputs; up to {config.epochs} epochs, early stopping after "
           f"{config.patience} epochs without improvement. The same data, settings and seed give the same model.")


def start_training() -> None:
    state.job = TrainingJob(data, arch, config, new_run_dir(), folds=folds()).start()


job: TrainingJob | None = state.job
running = job is not None and not job.done
with st.container(horizontal=True):
    st.button("Train", type="primary", icon=":material/play_arrow:", disabled=running, on_click=start_training)
    st.button("Stop", icon=":material/stop:", disabled=not running, on_click=job.stop if running else None)


@st.fragment(run_every=1.0 if running else None)
def live_view() -> None:
    job = st.session_state.job
    if job is None:
        st.info("Press **Train** to start. You can visit other pages while it trains.", icon=":material/info:")
        return
    history = list(job.history)
    epochs = len(history)
    st.progress(min(epochs / job.config.epochs, 1.0),
                text=f"Epoch {epochs} of at most {job.config.epochs} · {job.elapsed:.0f} s · {job.phase or job.status}")
    if history:
        frame = pd.DataFrame(history)
        best = int(frame["val_loss"].idxmin()) + 1
        st.caption(f"Best epoch so far: {best} (validation loss {frame['val_loss'].min():.4g}).")
        left, right = st.columns(2)
        left.plotly_chart(plots.training_curves(frame, "loss"), key="loss_curve", alt="Training and validation loss per epoch")
        right.plotly_chart(plots.training_curves(frame, metric), key="metric_curve", alt=f"Training and validation {metric} per epoch")
    if job.status == "failed":
        st.error(f"Training failed: {job.error}", icon=":material/error:")
    elif job.done:
        verb = "stopped" if job.status == "stopped" else "finished"
        st.success(f"Training {verb} after {job.metrics['epochs_run']} epochs; best weights from epoch "
                   f"{job.metrics['best_epoch']} kept.", icon=":material/check_circle:")
        st.page_link("pages/results.py", label="See results and download", icon=":material/arrow_forward:")
        if running:
            st.rerun()


live_view()
