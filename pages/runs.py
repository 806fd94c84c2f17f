"""Runs: every training run of this browser session side by side; pick one for results and download."""

import streamlit as st

from dlcore.runs import RESULT_STATES, leaderboard, list_runs
from pages.shared import show_run

state = st.session_state
runs = list_runs(state.owner)
if not runs:
    st.info("No runs yet in this browser session. Each training (on Train, or a tune's best kept) adds one here, "
            "side by side with the others: architecture, epochs, scores and time.", icon=":material/info:")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/arrow_forward:")
    st.stop()

st.caption("Runs live on disk under their own unguessable id; only the runs started in this browser session are "
           "listed. Compare them, then open one to see its results and download it.")
table = leaderboard(runs)
st.dataframe(table, hide_index=True, alt="Runs of this session: architecture, epochs, scores, time, status",
             column_config={name: st.column_config.NumberColumn(format="%.4g") for name in table.columns
                            if name == "best val loss" or name.startswith("test ")})
by_id = {run.run_id: run for run in runs}
labels = {run_id: f"{row['run']} · {row['architecture']} · {row['status']}"
          for run_id, row in zip(by_id, table.to_dict("records"))}
current = state.job.run_id if state.job is not None and state.job.run_id in by_id else next(iter(by_id))
chosen = st.selectbox("Run", list(by_id), index=list(by_id).index(current), format_func=labels.get, key="runs_pick",
                      help="The run to open; the table above compares them all.")
with st.container(horizontal=True):
    if st.button("Show in Results", icon=":material/download:", disabled=by_id[chosen].status not in RESULT_STATES,
                 help="Its scores, charts, predictions and model download (once it has finished)."):
        show_run(by_id[chosen])
        st.switch_page("pages/results.py")
    if st.button("Show in Train", icon=":material/model_training:", help="Its curves, live while it trains."):
        show_run(by_id[chosen])
        st.switch_page("pages/train.py")
