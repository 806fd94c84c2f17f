"""Train: a job in a worker process, with live curves read from its run folder, a queue position, and a Stop that
keeps the best weights."""

import dataclasses

import pandas as pd
import streamlit as st

from dlcore import plots
from dlcore.evaluation import METRIC_TITLES
from dlcore.jobs import max_runs_per_session, queue_position, recover, start_run
from dlcore.runs import member_rows, non_test_rows
from dlcore.runtime.errors import DataError
from dlcore.training import best_epoch, overfitting_hints
from pages.shared import (architecture, data_settings, folds, prepared, project_source, require, run_heading,
                          share_link, show_run)

STOP_HELP = "End training within one epoch; the best weights so far are kept, scored and downloadable."

state = st.session_state
job = state.job
owned = job is not None and not state.shared
running = job is not None and not job.done

if state.dataset is None or not state.target:
    if job is None:
        require("dataset", "target", shows="training live: the loss and metric curves epoch by epoch, with Stop")
    if owned:
        st.info("This run's data is not loaded in this browser session: load it on Upload to train again.",
                icon=":material/info:")
        st.button("Stop", icon=":material/stop:", disabled=not running, on_click=job.stop, help=STOP_HELP)
else:
    data = prepared()
    arch = architecture()
    config = dataclasses.replace(state.train_config, seed=state.seed)
    members = config.folds_for(non_test_rows(data))
    networks = f"{members} networks averaged (set on Model)" if members > 1 else "one network"
    st.caption(f"{arch.title} on {data.x_train.shape[1]} inputs, {networks}; up to "
               f"{config.epochs_for(member_rows(data, config))} epochs each, early stopping after "
               f"{config.patience} epochs without improvement. Reproducible: the same data, settings and seed "
               f"({config.seed}) give the same model and scores. Training runs in a separate worker process, so "
               f"you can leave this page, or close the browser, while it trains.")

    def start_training() -> None:
        try:
            with st.spinner("Writing the job…"):
                show_run(start_run(data, arch, config, folds=folds(), dataset=state.dataset.name, owner=state.owner,
                                   source=project_source(), data_settings=data_settings()))
        except DataError as exc:
            state.train_error = str(exc)

    with st.container(horizontal=True):
        st.button("Train", type="primary", icon=":material/play_arrow:", disabled=running and owned,
                  on_click=start_training, help=f"Each session may have {max_runs_per_session()} runs training or "
                                                 "waiting at once.")
        st.button("Stop", icon=":material/stop:", disabled=not (running and owned),
                  on_click=job.stop if running and owned else None, help=STOP_HELP)
    if error := state.pop("train_error", None):
        st.error(error, icon=":material/error:")


def show_share(run) -> None:
    with st.popover("Copy share link", icon=":material/share:"):
        st.caption("Anyone with this link sees this run's results read-only: scores, charts, predictions on the test "
                   "split without its input rows, and the model. Not your other runs, and no Stop. Your session "
                   "stays in this browser's cookie, never in a link.")
        st.code(share_link(run), language=None)


def show_status(run, status: dict, history: pd.DataFrame) -> None:
    """What the run is doing now: waiting in the queue, training (progress and time left, the device), or how it
    ended; from the status and history read once per refresh."""
    epochs, max_epochs = len(history), run.info["max_epochs"]
    if status.get("state") == "queued":
        where = queue_position(run)
        ahead = f"position {where['position']} of {where['waiting']}" if where["position"] else "next"
        st.info(f"Waiting in the queue ({ahead}): {where['running']} job(s) training, at most {where['limit']} at "
                "once. It starts by itself.", icon=":material/hourglass_top:")
        return
    timing = f"{run.elapsed:.0f} s"
    if not run.done and epochs and not status.get("members"):
        timing += f", at most {run.elapsed / epochs * (max_epochs - epochs):.0f} s left"
    phase = status.get("phase") or status.get("state", "failed")
    if status.get("members"):  # an ensemble's member training: its epochs
        epochs = len(run.member_histories()[status["member"] - 1])
        phase = f"member {status['member']} of {status['members']} · {phase}"
    st.progress(min(epochs / max_epochs, 1.0), text=f"Epoch {epochs} of at most {max_epochs} · {timing} · {phase}")
    if status.get("device"):
        st.caption(f"{'Trained' if run.done else 'Training'} on {status['device']}.")


def show_members(run) -> None:
    """An ensemble's members: each one's validation curve on the fold it holds out, and a row per member with its
    epochs and held-out score as it finishes."""
    metric = run.info.get("primary_metric", "")
    histories = run.member_histories()
    if any(len(history) for history in histories):
        st.plotly_chart(plots.member_curves(histories), key="member_curves",
                        alt="Validation loss per epoch of each member of the ensemble")
    st.dataframe(run.member_table(metric), hide_index=True, key="member_table",
                 alt="Each member's status, epochs, best epoch and score on the rows it held out")


@st.fragment(run_every=1.0 if running else None)
def live_view() -> None:
    run = st.session_state.job
    if run is None:
        st.info("Press **Train** to start. You can visit other pages while it trains; the run's address stays "
                "in the URL, so a refresh finds it again.", icon=":material/info:")
        return
    run_heading(run)
    if st.session_state.shared:
        st.caption("A shared run: read-only.")  # the heading above names it
    else:
        show_share(run)
    history = pd.DataFrame(run.history)
    show_status(run, run.status_record, history)
    if run.member_dirs:
        show_members(run)
    if len(history):
        best = best_epoch(history)
        st.caption(f"Best epoch{'' if run.done else ' so far'}: {best} "
                   f"(validation loss {history['val_loss'].min():.4g}).")
        smoothing = st.slider("Smoothing", 0.0, 0.9, 0.0, 0.1, key="train_smoothing",
                              help="Exponential moving average of the curves; 0 shows the raw values.")
        metric = next(k for k in history.columns if k not in ("epoch", "loss", "learning_rate")
                      and not k.startswith("val_"))
        left, right = st.columns(2)
        if run.member_dirs:
            st.caption("The members' curves averaged epoch by epoch:")
        left.plotly_chart(plots.training_curves(history, "loss", smoothing, best), key="loss_curve",
                          alt="Training and validation loss per epoch")
        right.plotly_chart(plots.training_curves(history, metric, smoothing, best), key="metric_curve",
                           alt=f"Training and validation {metric} per epoch")
        if run.done and run.config is not None:
            for hint in overfitting_hints(history, run.config.patience):
                st.info(hint, icon=":material/lightbulb:")
        if "learning_rate" in history:
            st.plotly_chart(plots.training_curves(history, "learning_rate"), key="lr_curve",
                            alt="Learning rate per epoch")
    metrics = run.metrics
    if run.status == "failed":
        st.error(f"Training failed: {run.error}", icon=":material/error:")
        if run.has_checkpoint and not st.session_state.shared:
            if st.button("Evaluate the best checkpoint", icon=":material/restore:",
                         help="Score the best weights saved before the failure, next to the baselines, and make "
                              "them downloadable like a finished run."):
                recover(run)
                st.rerun(scope="app")
    elif run.done and metrics:
        verb = {"stopped": "stopped", "recovered": "ended unexpectedly"}.get(run.status, "finished")
        if metrics.get("members", 1) > 1:
            held, primary = metrics["out_of_fold"], metrics["primary_metric"]
            st.success(f"Training {verb}: {metrics['members']} networks averaged into one model, each with its best "
                       f"weights. Out of fold, on the {held['rows']:,} non-test rows they held out, "
                       f"{METRIC_TITLES.get(primary, primary)} is {held[primary]:.4g}.", icon=":material/check_circle:")
        else:
            kept = "the best checkpoint, from epoch" if run.status == "recovered" else "best weights from epoch"
            st.success(f"Training {verb} after {metrics['epochs_run']} epochs; {kept} {metrics['best_epoch']} kept.",
                       icon=":material/check_circle:")
        st.page_link("pages/results.py", label="See results and download", icon=":material/arrow_forward:")
    elif run.done:
        st.warning(f"Training {run.status}: {run.error or 'no model was kept.'}", icon=":material/warning:")
    if running and run.done:
        st.rerun()


live_view()
