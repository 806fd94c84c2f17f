"""UI helpers the pages share: session state, prerequisites and cached dlcore calls (no logic of its own)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from dlcore.architectures import CUSTOM, Architecture, resolve
from dlcore.prepared import PreparedData, prepare_folds
from dlcore.profiling import profile
from dlcore.runs import RESULT_STATES, find_run, list_runs
from dlcore.runtime.encoders import MAX_ONEHOT_LEVELS
from dlcore.runtime.errors import DataError
from dlcore.runtime.explain import background_of
from dlcore.runtime.inference import Predictor
from dlcore.runtime.loading import Dataset, drop_missing_target
from dlcore.sessions import issue, user_secret, verified
from dlcore.settings import DataSettings, Settings, prepare_table
from dlcore.splitting import SEED, TEST_SIZE, VALIDATION_SIZE
from dlcore.training import TrainConfig

# A fresh server's first run of a deep link (a share link to /results, say) runs that page alone, in Streamlit's
# legacy mode for a `pages/` folder, since app.py has not called st.navigation yet. Leave that mode and start over
# through app.py (once per server process).
if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()

SESSION_COOKIE = "dlcore_session"
SESSION_DAYS = 30  # the cookie's lifetime: a refresh or a later visit within it finds the session's runs
# Writes the server-issued session value into the browser's cookie (the server cannot set one itself on a rerun).
_COOKIE_WRITER = st.components.v2.component("dlcore_session_cookie", js="""
export default function ({ data }) {
  const secure = location.protocol === "https:" ? "; Secure" : ""
  document.cookie = `${data.name}=${data.value}; path=/; max-age=${data.seconds}; SameSite=Strict${secure}`
}
""")
MAX_LEVELS = 1000  # levels listed in a select box of a hand-entered row
PREVIEW_COLUMNS = 200  # a wider table's preview shows its first columns (the browser draws every column sent)

DEFAULTS = {
    "dataset": None,  # dlcore.runtime.loading.Dataset
    "target": None,
    "task": None,
    "seed": SEED,
    "test_size": TEST_SIZE,
    "validation_size": VALIDATION_SIZE,
    "kinds": None,  # column -> kind chosen by the user (overrides the inferred kind; "excluded" drops it)
    "column_options": None,  # column -> preparation options (e.g. {"log": True})
    "order_by": None,  # a datetime column for a time-ordered split
    "kfold": 0,  # k for K-fold cross-validation before the final training, 0 for none
    "arch_name": "auto",
    "custom_arch": None,  # dlcore.architectures.Architecture saved on the Model page (arch_name "custom")
    "train_config": None,  # dlcore.training.TrainConfig
    "job": None,  # the run on show: a dlcore.runs.Run, read from its folder on every refresh
    "shared": False,  # True when the run on show came from a share link: read-only, not this session's
    "owner": None,  # this browser session's secret; run.json keeps its hash (dlcore.runs.owner_key)
    "session_cookie": None,  # the signed value still to be written into the browser's cookie
}


def init_state() -> None:
    for key, value in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = value
    if st.session_state.train_config is None:
        st.session_state.train_config = TrainConfig()
    for key in ("kinds", "column_options"):
        if st.session_state[key] is None:
            st.session_state[key] = {}
    if st.session_state.owner is None:
        st.session_state.owner, st.session_state.session_cookie = session_owner()
        restore_run()


def session_owner() -> tuple[str, str | None]:
    """Who this browser session is, and the cookie value still to be written (None when the browser holds it): the
    signed-in user where a sign-in is configured; else the session the browser's cookie names, if this server
    issued it; else a new one. A link never names it, so a link cannot hand anyone another person's runs."""
    if st.user.get("is_logged_in") and st.user.get("sub"):
        return user_secret(str(st.user.get("sub"))), None
    secret = verified(st.context.cookies.get(SESSION_COOKIE))
    return (secret, None) if secret else issue()


def keep_session() -> None:
    """Have the browser keep a new session's cookie (mounted on every run until a refresh brings the cookie back)."""
    value = st.session_state.session_cookie
    if value:
        with st.sidebar:
            _COOKIE_WRITER(data={"name": SESSION_COOKIE, "value": value, "seconds": SESSION_DAYS * 86400},
                           key="session_cookie_writer", height=0)


def restore_run() -> None:
    """After a refresh, the run named in the URL (``?run=<id>``) comes back, with full control and its data set
    when this session started it, else read-only, as a shared link; without one, this session's newest run."""
    run = find_run(st.query_params.get("run", ""))
    if run is None:
        run = next(iter(list_runs(st.session_state.owner)), None)
    if run is not None:
        st.session_state.job = run
        st.session_state.shared = not run.owned_by(st.session_state.owner)
        if not st.session_state.shared:
            restore_dataset(run.run_dir)


SETUP_KEYS = ("target", "task", "seed", "test_size", "validation_size", "order_by", "kfold", "kinds",
              "column_options")  # what this session chose about its data set, kept with a run or tune


OPTION_LABELS = {  # option → (label, help) for the Prepare page
    "encoding": ("Encoding", "auto: the first of the column kind's encodings that suits its training values "
                             f"(one-hot up to {MAX_ONEHOT_LEVELS} levels, then a learned embedding)."),
    "impute": ("Fill missing with", "The training rows' median, mean or most frequent value, or a constant you "
                                    "give."),
    "fill_value": ("Constant", "The value that fills a missing one when 'Fill missing with' is constant."),
    "scale": ("Scale", "Put the column on a common scale, from the training rows: standardize (mean 0, spread 1), "
                       "0–1, robust to outliers, or to a normal shape."),
    "log": ("Log transform", "sign(x)·log(1+|x|), for skewed values."),
    "missing_indicator": ("Missing indicator", "A 0/1 column marking rows where the value was missing "
                                               "(when training rows had gaps)."),
    "min_frequency": ("Group levels rarer than (share of rows)", "Rarer levels share one (other) column."),
    "cyclical": ("Cyclical sin/cos", "Month, day, weekday (and hour) as points on a circle, so December sits "
                                     "next to January."),
    "bins": ("Bins", "Quantile bins of the training values; each value becomes how far it fills each bin."),
}


def project_source() -> tuple:
    """The loaded data set and this session's setup of it, for a run or tune folder to keep
    (``source`` of :func:`dlcore.jobs.start_run`)."""
    state = st.session_state
    return state.dataset, {key: state[key] for key in SETUP_KEYS}


def restore_dataset(folder) -> None:
    """Where no data set is loaded (after a refresh), bring back the one this session's run or tune in ``folder``
    kept, with its target, task, split, kinds and options."""
    state = st.session_state
    if state.dataset is not None or (kept := Dataset.load(folder)) is None:
        return
    state.dataset, setup = kept
    for key in SETUP_KEYS:
        if key in setup:
            state[key] = setup[key]


def run_heading(run) -> None:
    """Name the run on show (id, data set, target, architecture and members as trained), and say so when the data
    set loaded now is another."""
    info = run.info
    members = info.get("members", 1)
    trained = f"{info.get('architecture')}" + (f", {members} networks averaged" if members > 1 else "")
    st.caption(f":material/label: Run **{run.run_id[:8]}** · data set **{info.get('dataset') or 'unnamed'}** · "
               f"target **{info.get('target')}** ({info.get('task')}) · {trained}")
    loaded = st.session_state.dataset
    if loaded is not None and info.get("dataset") and loaded.name != info["dataset"]:
        st.warning(f"This run was trained on **{info['dataset']}**, not on the loaded **{loaded.name}**: what this "
                   f"page shows is of {info['dataset']}. Train on the loaded data, or open another run on Runs.",
                   icon=":material/warning:")


def keep_in_url() -> None:
    """Name the run and the tune on show in the address on every page, so a refresh after a sidebar click (which
    drops the address's query) finds them again."""
    state = st.session_state
    tune = state.get("tune")
    for name, value in (("run", state.job.run_id if state.job is not None else None),
                        ("tune", tune.tune_dir.name if tune is not None else None)):
        if value and st.query_params.get(name) != value:
            st.query_params[name] = value


def show_run(run) -> None:
    """Make this session's ``run`` the one on show, and name it in the URL, so a refresh finds it again (with full
    control for this browser's session, whose cookie names it; read-only for anyone else: :func:`share_link`)."""
    st.session_state.job = run
    st.session_state.shared = False
    st.query_params["run"] = run.run_id


def share_link(run) -> str:
    """The address that shows ``run`` read-only to anyone else who opens it: the run's id alone."""
    base = (st.context.url or "").split("?")[0]
    return f"{base}?run={run.run_id}"


def reset_from(key: str) -> None:
    """Forget everything downstream of ``key`` (a new file, target or task invalidates later steps)."""
    order = ["dataset", "target", "task"]
    for later in order[order.index(key) + 1:]:
        st.session_state[later] = None
    if key == "dataset":
        st.session_state.pop("target_column", None)  # Upload's box: the new table's target is chosen afresh
        st.session_state.kinds, st.session_state.column_options, st.session_state.order_by = {}, {}, None
        st.session_state.kfold = 0
    st.session_state.pop("prepared", None)


def sidebar_status(place) -> None:
    """The project's data set, target and run, in ``place`` (an ``st.empty`` in the sidebar: drawn again, it
    replaces what it showed)."""
    state = st.session_state
    with place.container(border=True):
        st.caption("Your project")
        if state.dataset is None:
            st.markdown(":material/database: No data yet")
        else:
            rows, cols = state.dataset.shape
            st.markdown(f":material/database: **{state.dataset.name}**  \n{rows:,} rows × {cols} columns")
            if state.target:
                st.markdown(f":material/target: Target **{state.target}** ({state.task})")
        job = state.job
        if job is not None:
            whose = "Shared run" if state.shared else "Training"
            st.markdown(f":material/model_training: {whose}: **{job.status}**")


MISSING = {  # what a page may need → (what is missing, the page that provides it, the link's label)
    "dataset": ("a data set is loaded: upload a file or try a bundled sample", "pages/upload.py", "Go to Upload"),
    "target": ("the target column (what to predict) is chosen", "pages/upload.py", "Choose it on Upload"),
    "job": ("a model has finished training", "pages/train.py", "Go to Train"),
}


def require(*needs: str, shows: str) -> None:
    """Stop the page, saying what it ``shows`` and what is missing before it can, with a link to the step that
    provides it."""
    state = st.session_state
    lacking = {"dataset": state.dataset is None, "target": not state.target,
               "job": state.job is None or state.job.status not in RESULT_STATES}
    for need in needs:
        if lacking[need]:
            what, page, label = MISSING[need]
            st.info(f"Here you will see {shows}, once {what}.", icon=":material/info:")
            st.page_link(page, label=label, icon=":material/arrow_forward:")
            st.stop()


def preview(frame: pd.DataFrame, alt: str, **kwargs) -> None:
    """``frame`` as a table; a frame wider than :data:`PREVIEW_COLUMNS` shows its first columns and says so."""
    if frame.shape[1] > PREVIEW_COLUMNS:
        st.caption(f"Showing the first {PREVIEW_COLUMNS:,} of {frame.shape[1]:,} columns.")
        frame = frame.iloc[:, :PREVIEW_COLUMNS]
    st.dataframe(frame, alt=alt, **kwargs)


def paged(items: list, key: str, per_page: int, what: str) -> list:
    """The ``items`` of the page the user picks (a page picker appears only when there is more than one page)."""
    pages = max(1, -(-len(items) // per_page))
    if pages == 1:
        return items
    page = st.number_input(f"Page of {what}", 1, pages, key=key, width=180,
                           help=f"{len(items):,} {what}, {per_page} per page, {pages:,} pages.")
    first = (int(page) - 1) * per_page
    st.caption(f"{what.capitalize()} {first + 1:,}–{min(first + per_page, len(items)):,} of {len(items):,}.")
    return items[first:first + per_page]


@st.cache_resource(show_spinner="Profiling the data…", max_entries=8)
def _profile(digest: str, _frame, target: str | None, kinds: tuple, task: str | None) -> dict:
    return profile(_frame, target, dict(kinds), task)


def current_profile() -> dict:
    """The profile of the current table with the user's kinds and task, cached per file content, target, kinds and
    task. One copy is kept and handed out as it is (a resource, not data copied on every rerun: a wide table's
    profile is megabytes), so pages only read it. Keyed on the content's digest, it serves a session only the
    profile of a file that session holds."""
    state = st.session_state
    return _profile(state.dataset.digest, state.dataset.frame, state.target, tuple(sorted(state.kinds.items())),
                    state.task if state.target else None)


def column_kinds() -> dict[str, str]:
    """Every column's kind, decided once on the whole table (:func:`dlcore.profiling.decide_kinds`): the inferred
    one unless the user chose another. Preparation gets these, as the command line's preparation does."""
    return {name: col["kind"] for name, col in current_profile()["columns"].items()}


def data_settings() -> DataSettings:
    """How this session reads, prepares and splits its data set: what a run's ``settings.json`` keeps and
    :func:`dlcore.settings.prepare_table` follows, as the command line's ``--config`` does."""
    state = st.session_state
    return DataSettings(state.target, state.task, state.dataset.options.get_config(), column_kinds(),
                        state.column_options, state.seed, state.test_size, state.validation_size, state.order_by,
                        state.kfold or None)


def run_settings() -> Settings:
    """The whole run as Train would start it: the data's settings, the network chosen on Model and its training."""
    state = st.session_state
    return Settings(data_settings(), architecture(), dataclasses.replace(state.train_config, seed=state.seed))


def prepared() -> PreparedData:
    """The prepared data for the current file, target, task and split settings (recomputed when they change)."""
    state = st.session_state
    key = (state.dataset.digest, state.target, state.task, state.seed, state.test_size, state.validation_size,
           repr(state.kinds), repr(state.column_options), state.order_by)
    cached = state.get("prepared")
    if cached is None or cached[0] != key:
        try:
            with st.spinner("Preparing the data…"):
                data = prepare_table(state.dataset.frame, data_settings())
        except DataError as exc:
            st.error(str(exc), icon=":material/error:")
            st.page_link("pages/upload.py", label="Back to Upload", icon=":material/upload_file:")
            st.stop()
        state.prepared = cached = (key, data)
    return cached[1]


def folds() -> list[PreparedData] | None:
    """K-fold splits of the current data when the user chose K-fold on Prepare (each with its own preparation)."""
    state = st.session_state
    if not state.kfold:
        return None
    frame, _ = drop_missing_target(state.dataset.frame, state.target)
    return prepare_folds(frame, state.target, state.task, k=state.kfold, seed=state.seed, kinds=column_kinds(),
                         options=state.column_options)


def architecture() -> Architecture:
    """The network chosen on Model: the saved custom one, or Auto / a preset sized from the data."""
    state = st.session_state
    if state.arch_name == CUSTOM:
        return state.custom_arch
    data = prepared()
    return resolve(state.arch_name, data.x_train.shape[1], len(data.x_train), data.task)


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def load_run(run_dir: str) -> Predictor:
    """A finished run's model and preparation, loaded once per run folder; without its metrics where its
    metrics.json is missing or damaged (``metrics_problem`` says how). :class:`DataError` when the model itself
    cannot be loaded."""
    try:
        return Predictor.load(run_dir)
    except DataError:
        return Predictor.load(run_dir, metrics_optional=True)


@st.cache_data(max_entries=4, show_spinner=False)
def run_background(run_dir: str) -> pd.DataFrame:
    """The training rows a run's explanations compare with (:func:`dlcore.runtime.explain.background_of`)."""
    return background_of(run_dir)


def value_input(name: str, seen: dict, key: str):
    """One input per column, starting at the training median or most frequent level."""
    if seen.get("type") == "number":
        low, high = seen["min"], seen["max"]
        spread = (high - low) if low is not None and high > low else 1.0
        return st.number_input(name, value=seen["median"] or 0.0, key=key, format="%g",  # 0.0038, not 0.00
                               step=float(10 ** np.floor(np.log10(spread / 100))),  # about a hundredth of the range
                               help=f"Training range: {low:.4g} to {high:.4g}." if low is not None else
                               "The training rows had no value here.")
    if seen.get("type") == "level":
        levels = seen["levels"]
        listed = f"the {MAX_LEVELS:,} most frequent of {len(levels):,}" if len(levels) > MAX_LEVELS else \
            f"{len(levels):,}"
        return st.selectbox(name, levels[:MAX_LEVELS], key=key, accept_new_options=True,
                            help=f"Levels seen in training: {listed}; type another to try it.")
    return st.text_input(name, value=seen.get("median") or "", key=key,
                         help=f"Training dates: {seen['min']} to {seen['max']}." if seen.get("min") else
                         "A value written as in the training file.")


def manual_row_form(prep, form_key: str, key: str, label: str, icon: str) -> pd.DataFrame | None:
    """A form with one input per column the model reads; the entered row as a one-row frame once submitted."""
    with st.form(form_key):
        st.caption("Enter one row by hand; every input starts at the training median or most frequent level.")
        columns = st.columns(3)
        row = {}
        for i, name in enumerate(prep.input_columns):
            with columns[i % 3]:
                row[name] = value_input(name, prep.seen.get(name, {}), f"{key}_{name}")
        submitted = st.form_submit_button(label, icon=icon, help="Run the model on the values above.")
    return pd.DataFrame([row]) if submitted else None
