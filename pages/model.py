"""Model: choose the network (Auto or a preset from the books) and how to train it."""

import pandas as pd
import streamlit as st

from dlcore.architectures import ARCHITECTURE_NAMES, PRESETS, layer_table, output_head
from dlcore.training import TrainConfig
from pages.shared import architecture, prepared, require

require("dataset", "target")
state = st.session_state
data = prepared()
n_features, n_classes = data.x_train.shape[1], len(data.preparation.classes)


def _title(name: str) -> str:
    return "Auto (sized from your data)" if name == "auto" else PRESETS[name].title


st.selectbox("Architecture", ARCHITECTURE_NAMES, index=ARCHITECTURE_NAMES.index(state.arch_name),
             format_func=_title, key="model_arch", on_change=lambda: state.update(arch_name=state.model_arch))
arch = architecture()
head = output_head(data.task, n_classes)
st.caption(f"Source: {arch.source}. {arch.notes}")
st.markdown(f"Output layer: **{head['units']} × {head['activation']}**, loss **{head['loss']}**, "
            f"metrics **{', '.join(head['metrics'])}**, chosen from the task ({data.task}).")

table = pd.DataFrame(layer_table(arch, n_features, data.task, n_classes))
st.dataframe(table, hide_index=True, alt="Layers with output shapes and parameter counts")
st.metric("Trainable parameters", f"{table['parameters'].sum():,}", border=True)

st.subheader("Training settings")
config = state.train_config
with st.form("train_settings", border=True):
    cols = st.columns(4)
    epochs = cols[0].number_input("Max epochs", 1, 2000, value=config.epochs)
    patience = cols[1].number_input("Early-stopping patience", 1, 200, value=config.patience,
                                    help="Stop when validation loss has not improved for this many epochs; "
                                         "the best weights are restored.")
    learning_rate = cols[2].number_input("Learning rate", 1e-5, 1.0, value=config.learning_rate, format="%.5f")
    batch_size = cols[3].number_input("Batch size (0 = auto)", 0, 8192, value=config.batch_size)
    if st.form_submit_button("Save settings", icon=":material/save:"):
        state.train_config = TrainConfig(epochs=int(epochs), batch_size=int(batch_size),
                                         learning_rate=float(learning_rate), patience=int(patience), seed=state.seed)
        st.success("Saved.", icon=":material/check:")
st.page_link("pages/train.py", label="Next: train it", icon=":material/arrow_forward:")
