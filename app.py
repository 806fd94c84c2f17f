"""Entry point: page config, the shared sidebar, and navigation over the workflow's pages."""

from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

# A fresh server's first session starts in Streamlit's legacy mode for a `pages/` folder (a sidebar listing every
# file in it) until st.navigation runs: leave it at once, before the imports, so the shared helpers below need not
# restart the run and a click on that sidebar meanwhile lands on the page of the same name.
PagesManager.uses_pages_directory = False
# Root-level secrets (a deployer's DLCORE_* limits on Community Cloud) become environment variables: load them before
# dlcore reads its limits at import, so the server and the workers it starts see them.
st.secrets.load_if_toml_exists()

from dlcore.logs import quiet_native_logs  # noqa: E402
from dlcore.runs import runs_root  # noqa: E402
from dlcore.scheduler import keep_scheduling  # noqa: E402
from pages.shared import init_state, keep_in_url, keep_session, sidebar_status  # noqa: E402

quiet_native_logs()  # TensorFlow's C++ log lines stay off the server's console (DLCORE_VERBOSE=1 keeps them)

# The icon ships with the app (a Material icon here would be fetched from a font server on every page).
st.set_page_config(page_title="Tabular deep learning", page_icon=str(Path(__file__).parent / ".streamlit" / "icon.png"),
                   layout="wide")
init_state()
keep_scheduling(runs_root())  # while jobs wait or train, a thread of the server moves the queue on

PAGES = [
    st.Page("pages/upload.py", title="Upload", icon=":material/upload_file:", default=True,
            help="Upload a CSV or try a bundled sample, preview it, and choose the target column and task."),
    st.Page("pages/explore.py", title="Explore", icon=":material/query_stats:",
            help="Missing values, distributions of numeric columns, and counts of categories."),
    st.Page("pages/prepare.py", title="Prepare", icon=":material/tune:",
            help="How every column is encoded and standardized, fitted on the training split only."),
    st.Page("pages/baseline.py", title="Baseline", icon=":material/flag:",
            help="Naive, random, linear and gradient-boosting scores on the test split: the bars the network has to clear."),
    st.Page("pages/model.py", title="Model", icon=":material/account_tree:",
            help="Choose the network (Auto or a preset from the books) and the training settings."),
    st.Page("pages/tune.py", title="Tune", icon=":material/science:",
            help="Let Optuna search the network and training settings within a budget of trials or minutes, watch "
                 "the trials, and keep the best as a normal run."),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:",
            help="Train in the background with live loss curves; stop any time and keep the best weights."),
    st.Page("pages/runs.py", title="Runs", icon=":material/leaderboard:",
            help="Every run of this browser session side by side: architecture, epochs, scores, time."),
    st.Page("pages/results.py", title="Results & predictions", icon=":material/download:",
            help="Test scores next to the baseline, predictions on the test split or a new file, and the model."),
    st.Page("pages/explain.py", title="Explain", icon=":material/psychology:",
            help="Which columns drive the predictions (SHAP and permutation importance), and one prediction taken "
                 "apart."),
]
page = st.navigation(PAGES)
keep_in_url()
status = st.sidebar.empty()
sidebar_status(status)
keep_session()
st.title(page.title)
page.run()
sidebar_status(status)  # again, in place, after a page that ran to its end: what it has just changed
