"""Tune: Optuna searches the network and its training settings within a budget of trials or minutes; every trial is a
job of the queue, scored out of fold; the live leaderboard and Optuna's charts are read from the tune's folder, and the
ensemble Caruana's selection makes of the trials is kept as a normal run."""

import dataclasses

import streamlit as st

from dlcore import plots
from dlcore.evaluation import METRIC_TITLES
from dlcore.jobs import default_backend, max_jobs, max_runs_per_session
from dlcore.runs import RESULT_STATES, find_run, member_rows, non_test_rows
from dlcore.runtime.errors import DataError
from dlcore.search_space import (BATCH_SIZES, DROPOUT, L2, LAYERS, LEARNING_RATE, OPTIMIZERS, PARAM_TITLES,
                                 WEIGHT_DECAY, WIDTH)
from dlcore.training import OPTIMIZERS as OPTIMIZER_TITLES
from dlcore.tuning import (MAX_TRIALS, PRUNE_STARTUP_TRIALS, PRUNE_WARMUP_EPOCHS, TUNE_FILE, find_tune, keep_best,
                           resume, start_tune)
from pages.shared import prepared, project_source, require, restore_dataset, show_run

state = st.session_state
if "tune" not in state:
    state.tune = None  # the tune on show: a dlcore.tuning.Tune, read from its folder on every refresh
if state.tune is None:  # after a refresh: the tune named in the URL, if this session started it
    found = find_tune(st.query_params.get("tune", ""))
    if found is not None and found.owned_by(state.owner):
        state.tune = found
        restore_dataset(found.tune_dir)
if state.tune is not None and not (state.tune.tune_dir / TUNE_FILE).is_file():
    state.tune = None  # its folder was removed
tune = state.tune
running = tune is not None and not tune.done

st.caption(f"Optuna tries networks of {LAYERS[0]}–{LAYERS[1]} hidden layers of {WIDTH[0]}–{WIDTH[1]} units with "
           f"dropout {DROPOUT[0]:g}–{DROPOUT[1]:g}, L2 {L2[0]:g}–{L2[1]:g}, with or without periodic embeddings of "
           f"the numbers, a learning rate of {LEARNING_RATE[0]:g}–{LEARNING_RATE[1]:g}, batch sizes "
           f"{', '.join(map(str, BATCH_SIZES))} and "
           f"{' or '.join(OPTIMIZER_TITLES.get(name, name).split(' (')[0] for name in OPTIMIZERS)} (weight decay "
           f"{WEIGHT_DECAY[0]:g}–{WEIGHT_DECAY[1]:g}), "
           "each trial chosen from the ones before (TPE). Every trial trains as a background job, like Train's, on the "
           "same folds of the non-test rows as the Members setting makes, and is scored out of fold: on every row "
           "by a network that never trained on it. A trial whose first fold's validation loss lags the median of "
           f"earlier trials after {PRUNE_WARMUP_EPOCHS} epochs is stopped early (pruned) once {PRUNE_STARTUP_TRIALS} "
           "have ended. Keep the best mixes the trials by Caruana's ensemble selection on their out-of-fold "
           "predictions; the test split stays untouched until then.")

if state.dataset is None or not state.target:
    if tune is None:
        require("dataset", "target", shows="a search over networks and training settings, trial by trial")
    st.info("This tune's data is not loaded in this browser session: load it on Upload to start another tune.",
            icon=":material/info:")
    st.button("Stop", icon=":material/stop:", disabled=not running, on_click=tune.stop,
              help="Trials in flight stop within a batch and keep their best validation loss; no more start.")
else:
    data = prepared()
    config = dataclasses.replace(state.train_config, seed=state.seed)
    cols = st.columns(2)
    cols[0].number_input("Trials", 1, MAX_TRIALS, value=20, key="tune_trials",
                         help="How many trials should end (finished or pruned). More trials search better and "
                              "take longer.")
    cols[1].number_input("Time limit (minutes)", 0, 24 * 60, value=0, key="tune_minutes",
                         help="No trial starts after it, and trials still training stop and count with their best "
                              "validation loss so far. 0: no limit.")
    epochs, members = config.epochs_for(member_rows(data, config)), config.folds_for(non_test_rows(data))
    st.caption(f"Each trial trains {members} network{'s' if members != 1 else ''} (one per fold) of up to {epochs} "
               f"epochs with early stopping after {config.patience} epochs without "
               f"improvement (the Model page's settings, seed {config.seed}); at most "
               f"{(jobs := max_jobs(default_backend()))} job{'s' if jobs != 1 else ''} train{'' if jobs != 1 else 's'} "
               "at once, in the same queue as Train's.")

    def budget() -> tuple[int, float | None]:
        return int(state.tune_trials), float(state.tune_minutes) or None

    def start_tuning() -> None:
        trials, minutes = budget()
        try:
            with st.spinner("Writing the tune…"):
                started = start_tune(data, trials, minutes, config, dataset=state.dataset.name, owner=state.owner,
                                     source=project_source())
        except DataError as exc:
            state.tune_error = str(exc)
            return
        state.tune = started
        st.query_params["tune"] = started.tune_dir.name

    def more_trials() -> None:
        trials, minutes = budget()
        counts = tune.counts()
        try:
            state.tune = resume(tune, counts["finished"] + counts["pruned"] + trials, minutes)
        except DataError as exc:
            state.tune_error = str(exc)

    with st.container(horizontal=True):
        st.button("Tune", type="primary", icon=":material/science:", disabled=running, on_click=start_tuning,
                  help=f"Start a new search with the budget above. It counts as one of the {max_runs_per_session()} "
                       "runs a session may have training or waiting at once.")
        st.button("Stop", icon=":material/stop:", disabled=not running, on_click=tune.stop if running else None,
                  help="Trials in flight stop within a batch and keep the networks trained so far; no more start.")
        st.button("Add trials", icon=":material/add:", disabled=tune is None or running, on_click=more_trials,
                  help="Go on with the same study: the number of trials above (and the time limit) on top of the "
                       "trials it has.")
    if error := state.pop("tune_error", None):
        st.error(error, icon=":material/error:")

COLUMNS = {
    "trial": st.column_config.NumberColumn("Trial", format="%d"),
    "state": st.column_config.TextColumn("State"),
    "out-of-fold loss": st.column_config.NumberColumn(
        "Out-of-fold loss", format="%.4g", help="Log loss (classes) or squared error (standardized values) of the "
                                                "trial's networks on the rows each held out: what the search "
                                                "minimizes and the ensemble selection mixes."),
    "out-of-fold score": st.column_config.NumberColumn("Out-of-fold score", format="%.4g",
                                                       help="The headline metric on the same rows."),
    "members": st.column_config.NumberColumn("Networks", format="%d", help="Networks the trial trained, one per "
                                                                           "fold."),
    "epochs": st.column_config.NumberColumn("Epochs", format="%d"),
    "seconds": st.column_config.NumberColumn("Seconds", format="%.1f"),
    **{name: title for name, title in PARAM_TITLES.items()},  # a searched setting without a format below
    "layers": st.column_config.NumberColumn(PARAM_TITLES["layers"], format="%d"),
    "width": st.column_config.NumberColumn(PARAM_TITLES["width"], format="%d"),
    "dropout": st.column_config.NumberColumn(PARAM_TITLES["dropout"], format="%.3f"),
    "l2": st.column_config.NumberColumn(PARAM_TITLES["l2"], format="%.2e"),
    "learning_rate": st.column_config.NumberColumn(PARAM_TITLES["learning_rate"], format="%.2e"),
    "batch_size": st.column_config.NumberColumn(PARAM_TITLES["batch_size"], format="%d"),
    "weight_decay": st.column_config.NumberColumn(PARAM_TITLES["weight_decay"], format="%.2e"),
    "note": st.column_config.TextColumn("Note", help="Why a trial ended early, when it did."),
}


def show_progress(tune, counts: dict, best) -> None:
    budget = tune.budget
    ended = counts["finished"] + counts["pruned"]
    parts = [f"{ended} of {budget['trials']} trials ended"]
    if counts["pruned"] or counts["failed"]:
        parts[0] += f" ({counts['pruned']} pruned, {counts['failed']} failed)"
    if counts["running"] or counts["queued"]:
        parts.append(f"{counts['running']} training, {counts['queued']} waiting")
    limit = f" of {budget['minutes']:g} min" if budget.get("minutes") else ""
    parts.append(f"{tune.elapsed:.0f} s{limit}")
    parts.append({"running": "tuning", "stopped": "stopped", "finished": "done"}[tune.state])
    st.progress(min(ended / budget["trials"], 1.0), text=" · ".join(parts))
    if best is not None:
        st.caption(f"Best so far: trial {best.number}, out-of-fold loss {best.value:.4g}.")


def show_charts(tune, finished: int) -> None:
    if not finished:
        st.info("Optuna's charts appear as trials finish.", icon=":material/info:")
        return
    study = tune.study()
    left, right = st.columns(2)
    left.plotly_chart(plots.tuning_history(study), key="tune_history",
                      alt="Optimization history: each finished trial's best validation loss and the best so far")
    if finished < 2:
        right.info("Which settings mattered appears once two trials have finished.", icon=":material/info:")
        return
    try:
        figure = plots.tuning_importances(study, PARAM_TITLES)
    except (ValueError, RuntimeError, ZeroDivisionError):
        right.info("The finished trials do not differ enough yet to tell which settings mattered.",
                   icon=":material/info:")
        return
    right.plotly_chart(figure, key="tune_importances",
                       alt="Parameter importances: how much each searched setting explains the validation loss")


def show_selection(tune, counts: dict) -> None:
    """The ensemble Keep the best would keep: its trials and weights, and its out-of-fold score."""
    chosen = tune.selection()
    if chosen is None:
        return
    primary = chosen["metric"]
    metric = METRIC_TITLES.get(primary, primary)
    mixed = ", ".join(f"trial {item['trial']} × {item['weight']:.2f}" for item in chosen["ensemble"])
    so_far = "" if tune.done else f" (so far, of {counts['finished']} finished trials)"
    text = (f"Ensemble selection{so_far}: {mixed}; out of fold on {chosen['out_of_fold']['rows']:,} rows, "
            f"{metric} {chosen['out_of_fold'][primary]:.4g}.")
    if chosen["default_only"]:
        text += " It is just the default trial (Auto's settings): the search found nothing that improves on it."
    st.info(text, icon=":material/join:")


def show_kept(tune) -> None:
    """The runs kept from this tune, newest first, with where to see them."""
    for kept in reversed(tune.info.get("kept", [])[-1:]):
        run = find_run(kept["run"], tune.root)
        if run is None:
            continue
        status = {"queued": "waiting in the queue", "running": "training"}.get(run.status, run.status)
        trials = ", ".join(map(str, kept.get("trials", [kept.get("trial")])))
        st.success(f"The ensemble of trial(s) {trials} is a normal run now ({status}): it is the run on show in "
                   "Train, Results and Explain.", icon=":material/check_circle:")
        with st.container(horizontal=True):
            st.page_link("pages/train.py", label="Watch it train", icon=":material/model_training:")
            if run.status in RESULT_STATES:
                st.page_link("pages/results.py", label="See results and download", icon=":material/arrow_forward:")


@st.fragment(run_every=1.0 if running else None)
def live_view() -> None:
    tune = st.session_state.tune
    if tune is None:
        st.info("Set a budget and press **Tune** to start. Trials train in the background: you can visit other "
                "pages, and the tune's address stays in the URL, so a refresh finds it again.", icon=":material/info:")
        return
    trials = tune.trials()
    counts, best = tune.counts(trials), tune.best(trials)
    show_progress(tune, counts, best)
    table = tune.leaderboard()
    if len(table):
        st.dataframe(table, hide_index=True, column_config=COLUMNS, key="tune_leaderboard",
                     alt="Trials of this tune, best first: state, out-of-fold loss and score, networks, epochs, "
                         "seconds and the settings tried")
    else:
        st.info("The first trials are waiting in the queue; they appear here as they start.",
                icon=":material/hourglass_top:")
    show_charts(tune, counts["finished"])
    if best is not None:
        show_selection(tune, counts)
        if st.button("Keep the best", type="primary" if tune.done else "secondary", icon=":material/workspace_premium:",
                     help="Keep the ensemble above as a normal run (nothing is trained again): test scores next to "
                          "the baselines, Results, Explain and the model download, as for any run."):
            try:
                run = keep_best(tune, owner=st.session_state.owner)
            except DataError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                show_run(run)
                st.rerun(scope="app")
    elif tune.done:
        st.warning("No trial finished, so there is nothing to keep. The notes in the table say why; try more "
                   "minutes or trials.", icon=":material/warning:")
    show_kept(tune)
    if running and tune.done:
        st.rerun()


live_view()
