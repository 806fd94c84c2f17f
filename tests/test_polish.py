"""What every page owes its users beyond working: each chart and table named for assistive technologies, each
widget with a label and help, headings and labels in sentence case."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import churn_frame, to_csv

ROOT = Path(__file__).resolve().parents[1]
PAGE_FILES = sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]

WIDGETS = {"button", "download_button", "form_submit_button", "checkbox", "toggle", "radio", "selectbox",
           "multiselect", "slider", "select_slider", "text_input", "text_area", "number_input", "date_input",
           "file_uploader", "segmented_control", "pills", "color_picker"}  # a page_link's label says where it goes
NAMED = {"plotly_chart", "dataframe", "data_editor", "table", "graphviz_chart", "image", "altair_chart",
         "vega_lite_chart", "pyplot", "line_chart", "bar_chart", "area_chart", "scatter_chart"}


def calls(names: set[str]):
    """(file, line, command, keywords) of every call of a Streamlit command in ``names``, on ``st`` or on a column
    or container (``left.plotly_chart(...)``), in the pages and app.py."""
    for path in PAGE_FILES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in names
                    and not (node.func.attr == "table" and getattr(node.func.value, "id", "") != "st")):
                keywords = {k.arg for k in node.keywords}
                yield f"{path.name}:{node.lineno}", node.func.attr, keywords


def test_every_widget_has_help():
    missing = [f"{where} {command}" for where, command, keywords in calls(WIDGETS)
               if "help" not in keywords and None not in keywords]
    assert not missing, "widgets without help=: " + ", ".join(missing)


def test_every_chart_and_table_has_an_accessible_name():
    missing = [f"{where} {command}" for where, command, keywords in calls(NAMED)
               if "alt" not in keywords and None not in keywords]
    assert not missing, "charts and tables without alt=: " + ", ".join(missing)


# Words that keep their capital inside a sentence: the app's pages (named as places to go), the methods, libraries
# and people the pages cite, and the option names they quote.
PROPER = {"Upload", "Explore", "Prepare", "Baseline", "Model", "Tune", "Train", "Runs", "Results", "Explain", "Auto",
          "Custom", "Keras", "Optuna", "TensorFlow", "Ray", "Excel", "Parquet", "Adam", "AdamW", "RMSprop", "Nadam",
          "Chollet", "Moolayil", "Glorot", "He", "LeCun", "K-fold"}
SHOWN_LABELS = ["title", "header", "subheader", *sorted(WIDGETS - {"page_link"})]


def not_sentence_case(text: str) -> list[str]:
    """The words of ``text`` after its first that are capitalised (``Training Settings``), which sentence case
    leaves lowercase; acronyms (``SHAP``, ``ROC``, ``CSV``), names in :data:`PROPER` and quoted values are fine."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`|\([^)]*\)", "", text)  # quoted values and asides in brackets
    words = re.findall(r"[A-Za-z][\w-]*", text)
    return [word for word in words[1:] if word[0].isupper() and not word.isupper() and word not in PROPER
            and not re.fullmatch(r"[A-Z][a-z]?\d.*|[A-Z]+s", word)]


def test_the_sentence_case_rule():
    assert not_sentence_case("Training Settings") == ["Settings"]
    assert not_sentence_case("Download predictions (CSV)") == []
    assert not_sentence_case("Show in Results") == []
    assert not_sentence_case("Add each row's three most influential columns (SHAP)") == []
    assert not_sentence_case("Probability threshold: predict 'Yes' above") == []


@pytest.fixture(scope="module")
def pages_of_a_trained_run(tmp_path_factory):
    """Every page's AppTest after a short training on the churn fixture: the state in which pages show the most."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DLCORE_RUNS_DIR", str(tmp_path_factory.mktemp("runs")))
        yield shown_pages()


def shown_pages() -> dict[str, list]:
    app = AppTest.from_file("../app.py", default_timeout=120).run()
    app.file_uploader[0].upload("churn.csv", to_csv(churn_frame(240, 0, calls=True)), "text/csv").run()
    app.session_state["train_config"].epochs = 3
    app.switch_page("pages/train.py").run()
    app.button[0].click().run()
    job = app.session_state["job"]
    assert job.wait(120) and job.status == "finished", job.error
    shown = {}
    for page in ["upload", "explore", "prepare", "baseline", "model", "tune", "train", "runs", "results", "explain"]:
        app.switch_page(f"pages/{page}.py").run()
        assert not app.exception, page
        shown[page] = [(kind, element) for kind in SHOWN_LABELS for element in app.get(kind)]
    explore_sections = app.switch_page("pages/explore.py").run().get("segmented_control")[0]
    for section in explore_sections.options[1:]:
        explore_sections.set_value(section).run()
        shown[f"explore: {section}"] = [(kind, element) for kind in SHOWN_LABELS for element in app.get(kind)]
    return shown


def test_every_widget_shown_has_a_label_and_help(pages_of_a_trained_run):
    lacking = [f"{page}: {kind} {element.proto.label!r}" for page, elements in pages_of_a_trained_run.items()
               for kind, element in elements if kind in WIDGETS
               and not (element.proto.label.strip() and element.proto.help.strip())]
    assert not lacking, lacking
    assert sum(len(elements) for elements in pages_of_a_trained_run.values()) > 60  # the pages were really shown


def test_headings_and_labels_are_in_sentence_case(pages_of_a_trained_run):
    columns = set(churn_frame(10, 0, calls=True).columns)
    wrong = [f"{page}: {kind} {text!r} ({', '.join(words)})" for page, elements in pages_of_a_trained_run.items()
             for kind, element in elements
             for text in [element.value if kind in ("title", "header", "subheader") else element.proto.label]
             if text not in columns and (words := not_sentence_case(text))]
    assert not wrong, wrong
