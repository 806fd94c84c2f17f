"""Model: Auto, a preset from the books or your own layers; the network as a table and a diagram; how to train it.

Nothing that cannot train is saved: every change is checked with ``validate`` and refused with its reason.
"""

import json

import pandas as pd
import streamlit as st

from dlcore.architectures import (
    ACTIVATIONS, ARCHITECTURE_NAMES, AUTO_RECIPE, CUSTOM, INITIALIZERS, LOSSES, MAX_UNITS, NUMERIC_EMBEDDINGS,
    OUTPUT_ACTIVATIONS, PRESETS, custom, diagram, layer_table, output_head, resolve, validate,
)
from dlcore.ensemble import members_choice
from dlcore.runs import member_rows, non_test_rows
from dlcore.runtime.errors import DataError
from dlcore.settings import SETTINGS_FILE
from dlcore.training import (MAX_FOLDS, OPTIMIZERS, SCHEDULES, TrainConfig, class_weights,
                             training_minority_share)
from pages.shared import prepared, require, run_settings

require("dataset", "target", shows="the network for your data, its layers and its training settings")
state = st.session_state
data = prepared()
task, n_features, n_rows, n_classes = data.task, data.x_train.shape[1], len(data.x_train), len(data.preparation.classes)
head = output_head(task, n_classes)
CHOICES = (*ARCHITECTURE_NAMES, CUSTOM)


def network(name: str):
    """The architecture called ``name``: Auto sized from this data, a preset, or the saved custom network."""
    return state.custom_arch if name == CUSTOM else resolve(name, n_features, n_rows, task)


def title(name: str) -> str:
    if name == "auto":
        return "Auto (sized from your data)"
    return "Custom (your own layers)" if name == CUSTOM else PRESETS[name].title


def refusal(arch, config: TrainConfig) -> str | None:
    try:
        validate(arch, config, task, n_classes)
    except DataError as exc:
        return str(exc)
    return None


choice = st.selectbox("Architecture", CHOICES, index=CHOICES.index(state.arch_name), format_func=title,
                      key="model_arch", help="Auto is measured to do well on most tables; the presets are the books' "
                                             "networks; Custom lets you set every layer.")
if choice == CUSTOM and state.get("custom_arch") is None:  # start from the network on show
    start = network(state.arch_name)
    state.custom_arch = custom(start.get_config()["layers"], start.residual, start.initializer,
                               numeric_embedding=start.numeric_embedding)
arch = network(choice)
reason = refusal(arch, state.train_config)
if reason is None:
    state.arch_name = choice
elif choice == state.arch_name:
    st.error(f"These settings cannot train: {reason}", icon=":material/error:")
else:
    st.error(f"Not saved: {reason} Training keeps {title(state.arch_name)}.", icon=":material/error:")
st.caption(f"Source: {arch.source}. {arch.notes}")
if choice == "auto":
    with st.expander("Why Auto is built this way", icon=":material/science:"):
        st.caption("Each choice with its source and what the quality benchmark measured (`benchmarks/quality.py`: "
                   "public tables against the defaults of CatBoost, LightGBM and HistGradientBoosting).")
        st.dataframe(pd.DataFrame(AUTO_RECIPE), hide_index=True, alt="Auto's recipe: each choice, its source and "
                     "what was measured")

if choice == CUSTOM:
    column = st.column_config
    with st.form("custom_network", border=True):
        st.markdown("**Hidden layers** (add, edit or delete rows): Dense → batch norm → activation → dropout.")
        edited = st.data_editor(
            pd.DataFrame(arch.get_config()["layers"]), num_rows="dynamic", hide_index=True,
            key=f"custom_layers_{state.get('custom_version', 0)}",  # a fresh editor after each save
            alt="The hidden layers, one row each: units, activation, dropout, L1, L2 and batch norm",
            column_config={
                "units": column.NumberColumn("Units", min_value=1, max_value=MAX_UNITS, step=1, required=True),
                "activation": column.SelectboxColumn("Activation", options=ACTIVATIONS, default="relu", required=True),
                "dropout": column.NumberColumn("Dropout", min_value=0.0, max_value=0.9, step=0.05, default=0.0),
                "l1": column.NumberColumn("L1", min_value=0.0, format="%g", default=0.0),
                "l2": column.NumberColumn("L2", min_value=0.0, format="%g", default=0.0),
                "batch_norm": column.CheckboxColumn("Batch norm", default=False),
            },
        )
        cols = st.columns(4)
        residual = cols[0].toggle("Residual connections", value=arch.residual,
                                  help="Each layer after the first adds its input to its output (a projection when "
                                       "the widths differ), which keeps deep networks trainable.")
        initializer = cols[1].selectbox("Initializer", INITIALIZERS, index=INITIALIZERS.index(arch.initializer),
                                        help="How the weights start: He for ReLU-like activations, LeCun for SELU, "
                                             "Glorot (Keras' default) otherwise.")
        outputs = (None, *OUTPUT_ACTIVATIONS)
        output = cols[2].selectbox("Output activation", outputs, index=outputs.index(arch.output_activation),
                                   format_func=lambda a: f"From the task ({head['activation']})" if a is None else a,
                                   help="The task decides it (sigmoid for two classes, softmax for more, linear for "
                                        "a number); change it only with a loss that fits.")
        embedding = cols[3].selectbox("Numeric embedding", list(NUMERIC_EMBEDDINGS),
                                      index=list(NUMERIC_EMBEDDINGS).index(arch.numeric_embedding),
                                      format_func=lambda name: name.capitalize(),
                                      help=" ".join(f"{text}." for text in NUMERIC_EMBEDDINGS.values()))
        if st.form_submit_button("Save network", icon=":material/save:",
                                 help="Check the layers and keep them as the network to train."):
            try:
                candidate = custom(edited.to_dict("records"), residual, initializer, output, embedding)
                validate(candidate, state.train_config, task, n_classes)
            except DataError as exc:
                st.error(f"Not saved: {exc}", icon=":material/error:")
            else:
                state.custom_arch = arch = candidate
                state.arch_name = CUSTOM
                state.custom_version = state.get("custom_version", 0) + 1
                st.success("Network saved.", icon=":material/check:")

config: TrainConfig = state.train_config
st.markdown(f"Output layer: **{head['units']} × {arch.output_activation or head['activation']}**, loss "
            f"**{config.loss or head['loss']}**, metrics **{', '.join(head['metrics'])}** ({task} task).")
table = pd.DataFrame(layer_table(arch, data.preparation.feature_types, task, n_classes))
left, right = st.columns([2, 1])
left.dataframe(table, hide_index=True, height="content", alt="Layers with output shapes and parameter counts",
               column_config={"type": st.column_config.TextColumn(width="medium")})  # every column in view at 1280 px
with right:
    with st.container(horizontal=True):
        st.metric("Parameters", f"{table['parameters'].sum():,}", border=True)
        st.metric("Trainable", f"{table['trainable'].sum():,}", border=True,
                  help="Batch normalization's moving mean and variance are counted but not trained.")
    st.graphviz_chart(diagram(arch, data.preparation.feature_types, task, n_classes), alt="Diagram of the network")

st.subheader("Training settings")
share = training_minority_share(data)
weighted = class_weights(data, TrainConfig(class_weights=None)) is not None
planned = TrainConfig().epochs_for(member_rows(data, config))  # per network: an ensemble member's rows
with st.form("train_settings", border=True):
    cols = st.columns(4)
    epochs = cols[0].number_input("Max epochs", 0, 2000, value=config.epochs,
                                  help=f"0: sized from the data, {planned} epochs here (as "
                                       "many as about 20,000 batches allow, at most 256). Early stopping may end "
                                       "sooner.")
    patience = cols[1].number_input("Early-stopping patience", 1, 200, value=config.patience,
                                    help="Stop when validation loss has not improved for this many epochs; "
                                         "the best weights are restored.")
    batch_size = cols[2].number_input("Batch size (0 = auto)", 0, 8192, value=config.batch_size,
                                      help=f"Auto is {TrainConfig().batch_for(n_rows)} rows for this data.")
    seed = cols[3].number_input("Seed", 0, 2**31 - 1, value=state.seed,
                                help="One seed for the split (as on Prepare) and the weights: the same data, settings "
                                     "and seed give the same metrics.")
    left, right = st.columns(2)  # the choices' names are long: two to a row, so they read whole at 1280 px
    optimizer = left.selectbox("Optimizer", list(OPTIMIZERS), index=list(OPTIMIZERS).index(config.optimizer),
                               format_func=OPTIMIZERS.get, help="How the weights are updated from the gradients.")
    learning_rate = right.number_input("Learning rate", 1e-5, 1.0, value=config.learning_rate, format="%.5f",
                                       help="The step size of each update: too high and the loss jumps about, too "
                                            "low and it barely falls.")
    schedule = left.selectbox("Learning-rate schedule", list(SCHEDULES),
                              index=list(SCHEDULES).index(config.schedule), format_func=SCHEDULES.get,
                              help="How the learning rate changes over the epochs.")
    losses = (None, *LOSSES[task])
    loss = right.selectbox("Loss", losses, index=losses.index(config.loss) if config.loss in losses else 0,
                           format_func=lambda name: f"From the task ({head['loss']})" if name is None else name,
                           help="What training minimizes; only the losses valid for this task are offered.")
    members = left.number_input("Members", 0, MAX_FOLDS, value=config.folds,
                                help="Networks of the cross-fitted ensemble: each learns from all but one fold of "
                                     "the non-test rows and stops on that fold; their mean is the model. 0: chosen "
                                     "from the data's size; 1: a single network on the train/validation split.")
    weights = config.class_weights
    if share is not None:
        options = (False, True) if weights is not None else (False, True, None)
        weights = right.radio(
            "Class weights", options, index=options.index(weights), horizontal=True,
            format_func=lambda on: {None: f"Former rule ({'on' if weighted else 'off'}: the rarest class is "
                                          f"{share:.0%} of training rows)", True: "On", False: "Off"}[on],
            help=f"Off by default: the probabilities stay calibrated (the rarest class is {share:.0%} of the "
                 "training rows here). On weights each class inversely to its frequency so a rare class counts as "
                 "much as a common one; the threshold slider on Results trades the classes without retraining.")
    if st.form_submit_button("Save settings", icon=":material/save:",
                             help="Keep these settings for Train and Tune; a combination that cannot work is "
                                  "refused with the reason."):
        candidate = TrainConfig(epochs=int(epochs), batch_size=int(batch_size), learning_rate=float(learning_rate),
                                patience=int(patience), seed=int(seed), class_weights=weights, optimizer=optimizer,
                                schedule=schedule, loss=loss, folds=int(members))
        reason = refusal(network(state.arch_name), candidate)
        if reason is None:
            state.train_config, state.seed = candidate, int(seed)
            st.success("Saved.", icon=":material/check:")
        else:
            st.error(f"Not saved: {reason}", icon=":material/error:")
st.info(members_choice(state.train_config, non_test_rows(data)), icon=":material/stacks:")
with st.container(horizontal=True, vertical_alignment="center"):
    st.download_button("Download settings", json.dumps(run_settings().to_dict(), indent=2), SETTINGS_FILE,
                       "application/json", icon=":material/download:", on_click="ignore",
                       help="How the file is read and prepared, this network and its saved training settings, as "
                            "one file: `dlcore train DATA --config settings.json --out RUN` trains the same model "
                            "from the command line. Every run folder keeps its own.")
    st.page_link("pages/train.py", label="Next: train it", icon=":material/arrow_forward:")
