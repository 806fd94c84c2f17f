"""Explore: overview, alerts with one-click fixes, column types, distributions, and each column against the target."""

import dataclasses

import pandas as pd
import streamlit as st

from dlcore import plots
from dlcore.alerts import apply_fix
from dlcore.decisions import KINDS
from dlcore.profiling import COLUMN_ORDERS, order_columns
from pages.shared import current_profile, paged, require

ALERTS_PER_PAGE = 20
CHARTS_PER_PAGE = 6

require("dataset", shows="missing values, column kinds, distributions and alerts with one-click fixes")
state = st.session_state
report = current_profile()
columns, overview = report["columns"], report["overview"]

st.caption("Look before you model: how much is missing, what kind each column is, how values are spread.")
with st.container(horizontal=True):
    st.metric("Rows", f"{overview['rows']:,}", border=True)
    st.metric("Columns", overview["columns"], border=True)
    st.metric("Memory", f"{overview['memory_bytes'] / 2**20:,.1f} MB", border=True)
    st.metric("Duplicate rows", f"{overview['duplicate_rows']:,}", border=True)
st.caption("Kinds: " + ", ".join(f"{count} {kind}" for kind, count in overview["kinds"].items()) + ".")
if report["sampled"]["what"]:
    st.caption(f":material/info: {report['sampled']['what'].capitalize()} use a random sample of "
               f"{report['sampled']['rows']:,} of {report['sampled']['of']:,} rows; everything else uses every row.")


def fix(alert: dict) -> None:
    action = alert["fix"]["action"]
    if action == "drop_duplicates":
        frame = state.dataset.frame.drop_duplicates().reset_index(drop=True)
        state.dataset = state.dataset.derive(frame, f"Dropped {len(state.dataset.frame) - len(frame):,} duplicate rows.")
    elif action == "class_weights":
        state.train_config = dataclasses.replace(state.train_config, class_weights=True)
    else:
        apply_fix(alert["fix"], alert["column"], state.kinds, state.column_options)
    state.pop("prepared", None)


def applied(alert: dict) -> bool:
    action, column = alert["fix"]["action"], alert["column"]
    if action == "exclude":
        return state.kinds.get(column) == "excluded"
    if action == "kind":
        return state.kinds.get(column) == alert["fix"]["value"]
    if action == "option":
        return all(state.column_options.get(column, {}).get(k) == v for k, v in alert["fix"]["value"].items())
    if action == "class_weights":
        return state.train_config.class_weights is not False
    return False


alerts = report["alerts"]
section = st.segmented_control(
    "Section", [f"Alerts ({len(alerts)})", "Column types", "Distributions", "Against the target", "Correlations"],
    default=f"Alerts ({len(alerts)})", key="explore_section", label_visibility="collapsed",
    help="What to look at: alerts with their fixes, each column's kind, distributions, columns against the target, "
         "correlations.",
) or f"Alerts ({len(alerts)})"

if section.startswith("Alerts"):
    if not state.target:
        st.info("Choose a target on Upload to also check class balance and leakage.", icon=":material/info:")
    if not alerts:
        st.success("No alerts: nothing stands out in this data.", icon=":material/check_circle:")
    kinds_found = sorted({alert["kind"] for alert in alerts})
    if len(alerts) > ALERTS_PER_PAGE:
        shown_kinds = st.pills("Show alerts of kind", kinds_found, selection_mode="multi", default=kinds_found,
                               help="Click a kind to hide or show its alerts.",
                               format_func=lambda kind: kind.replace("_", " "), key="explore_alert_kinds")
        alerts = [alert for alert in alerts if alert["kind"] in shown_kinds]
    numbered = list(enumerate(report["alerts"]))
    for i, alert in paged([(i, a) for i, a in numbered if a in alerts], "explore_alert_page", ALERTS_PER_PAGE,
                          "alerts"):
        with st.container(border=True):
            text, action = st.columns([2, 1], vertical_alignment="center")  # every fix in the same place
            text.markdown(f":orange-badge[{alert['kind'].replace('_', ' ')}] {alert['message']}")
            if alert["fix"]:
                done = applied(alert)
                action.button("Applied" if done else alert["fix"]["label"], key=f"fix_{i}", disabled=done,
                              on_click=fix, args=(alert,), icon=":material/check:" if done else ":material/build:",
                              help="Applied to this data set's preparation; change it back on Prepare.",
                              width="stretch")

elif section == "Column types":
    st.caption("The guessed kind of every column decides how it is prepared. Change it, or exclude the column.")
    table = pd.DataFrame({"column": list(columns), "use as": [c["kind"] for c in columns.values()],
                          "missing": [c["null_fraction"] for c in columns.values()],
                          "unique": [c["unique"] for c in columns.values()],
                          "dtype": [c["dtype"] for c in columns.values()]})
    edited = st.data_editor(
        table, hide_index=True, disabled=["column", "missing", "unique", "dtype"], key="kinds_editor",
        alt="Every column's kind, missing share, distinct values and stored type; the kind can be changed",
        column_config={"use as": st.column_config.SelectboxColumn("use as", options=[*KINDS, "excluded"], required=True),
                       "missing": st.column_config.ProgressColumn("missing", format="percent", min_value=0, max_value=1)},
    )
    changed = {row["column"]: row["use as"] for row in edited.to_dict("records")
               if row["use as"] != columns[row["column"]]["kind"]}
    if changed:
        state.kinds.update(changed)
        state.pop("prepared", None)
        st.rerun()

elif section == "Distributions":
    if any(col["null_fraction"] for col in columns.values()):
        st.plotly_chart(plots.null_fractions(report), alt="Bar chart of the percentage of missing values per column")
    else:
        st.success("No missing values in any column.", icon=":material/check_circle:")
    numeric = [n for n, c in columns.items() if c["kind"] == "numeric" and "histogram" in c]
    categorical = [n for n, c in columns.items() if c["kind"] in ("categorical", "boolean") and "top_values" in c]
    dates = [n for n, c in columns.items() if c["kind"] == "datetime" and "counts" in c]
    if len(numeric) + len(categorical) + len(dates) > CHARTS_PER_PAGE:
        with st.container(horizontal=True, vertical_alignment="bottom"):
            search = st.text_input("Search columns", key="explore_search", placeholder="Part of a column name",
                                   help="Show only the columns whose name contains this text (any case).")
            orders = [o for o in COLUMN_ORDERS if o != COLUMN_ORDERS[-1] or "association" in report]
            order = st.selectbox("Sort by", orders, key="explore_order",
                                 help="Strongest alone on the target: how well the column by itself predicts the "
                                      "target on held-out rows.")
        numeric, categorical, dates = (order_columns(report, names, order, search)
                                       for names in (numeric, categorical, dates))
    if numeric:
        st.subheader("Numeric columns")
        chosen = paged(numeric, "explore_numeric_page", CHARTS_PER_PAGE, "numeric columns")
        stats = pd.DataFrame({n: {**columns[n]["stats"], "skew": columns[n]["skew"], "zeros": columns[n]["zeros"],
                                  "outliers": columns[n]["outliers"]} for n in chosen}).T
        st.dataframe(stats, alt="Statistics of the numeric columns on show")
        for pair in [chosen[i:i + 2] for i in range(0, len(chosen), 2)]:
            for slot, name in zip(st.columns(2), pair):
                slot.plotly_chart(plots.histogram(name, columns[name]), alt=f"Histogram of {name}")
    if categorical:
        st.subheader("Categorical columns")
        chosen = paged(categorical, "explore_categorical_page", CHARTS_PER_PAGE, "categorical columns")
        for pair in [chosen[i:i + 2] for i in range(0, len(chosen), 2)]:
            for slot, name in zip(st.columns(2), pair):
                slot.plotly_chart(plots.category_counts(name, columns[name]), alt=f"Bar plot of the levels of {name}")
    if dates:
        st.subheader("Date columns")
        for name in paged(dates, "explore_dates_page", CHARTS_PER_PAGE, "date columns"):
            st.plotly_chart(plots.date_counts(name, columns[name]), alt=f"Rows over time for {name}")
    if not numeric and not categorical and not dates:
        st.info("No column matches the search.", icon=":material/search_off:")

elif section == "Against the target":
    if not state.target:
        st.info("Choose the target column on Upload first.", icon=":material/info:")
        st.page_link("pages/upload.py", label="Go to Upload", icon=":material/upload_file:")
    else:
        st.plotly_chart(plots.target_distribution(report), alt=f"Distribution of {state.target}")
        relations = report["against_target"]
        strongest = order_columns(report, list(relations), COLUMN_ORDERS[-1])
        name = st.selectbox("Column", strongest, key="explore_against",
                            help="Strongest first: how well each column alone predicts the target on held-out rows.")
        if name:
            st.plotly_chart(plots.against_target(name, relations[name], state.target),
                            alt=f"{name} against {state.target}")

else:
    if len(report["correlations"]["columns"]) < 2:
        st.info("Fewer than two numeric columns: nothing to correlate.", icon=":material/info:")
    else:
        st.plotly_chart(plots.correlations(report), alt="Correlation matrix of the numeric columns")
