#!/usr/bin/env python3
"""Writes the small Keras model files the kafkaml-keras tests import, without Keras or TensorFlow.

With h5py and numpy only (Debian: apt-get install python3-h5py python3-numpy; run with /usr/bin/python3) it
writes exactly the HDF5 layout that Keras 2 `model.save("model.h5")` writes, for one model in several variants:

    inputs = keras.Input(shape=(3,))
    hidden = keras.layers.Dense(4, activation="sigmoid")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax")(hidden)      # "linear" with from_logits=True
    model.compile(optimizer=..., loss=..., metrics=["accuracy"])

- root attributes `keras_version`, `backend`, `model_config` (the model's JSON) and `training_config`;
- group `model_weights` with attribute `layer_names`, one group per layer with attribute `weight_names`,
  and the datasets `<layer>/<layer>/kernel:0` (shape [in, out]) and `<layer>/<layer>/bias:0`.

The files, one per Keras version family, Sequential and functional (the training_config of each is what that
family writes; Keras 2.11 introduced the new optimizers: no `decay`, `is_legacy_optimizer`, `weight_decay`,
`use_ema`, ..., Keras 2.13 added `module`/`registered_name`):

    hcopd-keras.h5                   2.11.0 Sequential, legacy optimizer config (Adam, decay 0), categorical loss
    keras22-functional-lr.h5         2.2.4 functional ("Model"), Adam with `lr`, categorical loss
    keras24-sequential-sgd.h5        2.4.0 Sequential, SGD with momentum 0 and decay, mse loss on softmax outputs
    keras211-functional-custom.h5    2.11.0 functional ("Functional"), `Custom>Adam`, integer learning rate 1
    keras213-sequential-sparse.h5    2.13.1 Sequential, new Adam config, loss object SparseCategoricalCrossentropy
    keras215-functional-logits.h5    2.15.0 functional, linear output, CategoricalCrossentropy(from_logits=True)
    keras215-sequential-adamw.h5     2.15.0 Sequential, AdamW with weight_decay 0.004 (no DL4J counterpart)
    keras215-sequential-noloss.h5    2.15.0 Sequential saved without compile (no training_config)
    keras3-sequential.h5             Keras 3.3.3 writing the legacy .h5 format (Keras 3 layer configs)
    keras3-sequential.keras          Keras 3 .keras archive (zip: metadata.json, config.json, model.weights.h5)
    weights-only.h5                  model.save_weights("weights.h5"): weights, no model_config

The weights are fixed numbers (below), so the expected outputs are computed here with numpy and printed; the
Java tests hold the same inputs and outputs.

Usage: /usr/bin/python3 make_keras_h5.py ../resources
"""
import io
import json
import os
import sys
import zipfile

import h5py
import numpy as np

W1 = np.array([[0.5, -0.25, 0.75, -1.0],
               [0.125, 0.375, -0.625, 0.875],
               [-0.5, 1.0, 0.25, -0.125]], dtype=np.float32)
B1 = np.array([0.1, -0.2, 0.3, -0.4], dtype=np.float32)
W2 = np.array([[1.0, -1.0], [-0.5, 0.5], [0.25, 0.75], [-0.75, 0.25]], dtype=np.float32)
B2 = np.array([0.05, -0.05], dtype=np.float32)
INPUTS = np.array([[1.0, 63.0, 2.0], [0.0, 0.5, -1.0], [0.2, -0.3, 0.4]], dtype=np.float32)


def initializer(name, new_style):
    value = {"class_name": name, "config": {"seed": None} if name != "Zeros" else {}}
    if new_style:
        value = {"module": "keras.initializers", **value, "registered_name": None}
    return value


def dense_config(name, units, activation, new_style=False, batch_input_shape=None):
    config = {
        "name": name, "trainable": True, "dtype": "float32", "units": units, "activation": activation,
        "use_bias": True,
        "kernel_initializer": initializer("GlorotUniform", new_style),
        "bias_initializer": initializer("Zeros", new_style),
        "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "bias_constraint": None,
    }
    if batch_input_shape is not None:
        config["batch_input_shape"] = batch_input_shape
    layer = {"class_name": "Dense", "config": config}
    if new_style:
        layer = {"module": "keras.layers", **layer, "registered_name": None}
    return layer


def input_config(new_style=False):
    layer = {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3], "dtype": "float32",
                                                    "sparse": False, "ragged": False, "name": "input_1"}}
    if new_style:
        layer = {"module": "keras.layers", **layer, "registered_name": None}
    return layer


def sequential(output_activation="softmax", new_style=False):
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        input_config(new_style),
        dense_config("dense", 4, "sigmoid", new_style, [None, 3]),
        dense_config("dense_1", 2, output_activation, new_style),
    ]}}


def functional(class_name, output_activation="softmax", new_style=False):
    inp = input_config(new_style)
    inp["name"] = "input_1"
    inp["inbound_nodes"] = []
    dense = dense_config("dense", 4, "sigmoid", new_style)
    dense["name"] = "dense"
    dense["inbound_nodes"] = [[["input_1", 0, 0, {}]]]
    out = dense_config("dense_1", 2, output_activation, new_style)
    out["name"] = "dense_1"
    out["inbound_nodes"] = [[["dense", 0, 0, {}]]]
    return {"class_name": class_name, "config": {"name": "model", "layers": [inp, dense, out],
                                                 "input_layers": [["input_1", 0, 0]],
                                                 "output_layers": [["dense_1", 0, 0]]}}


def legacy_adam(lr_key="learning_rate"):
    return {"class_name": "Adam", "config": {"name": "Adam", lr_key: 0.001, "decay": 0.0, "beta_1": 0.9,
                                             "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}}


def new_optimizer(class_name, learning_rate, module=True, **extra):
    config = {"name": class_name.split(">")[-1], "weight_decay": None, "clipnorm": None, "global_clipnorm": None,
              "clipvalue": None, "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
              "jit_compile": True, "is_legacy_optimizer": False, "learning_rate": learning_rate}
    config.update(extra)
    optimizer = {"class_name": class_name, "config": config}
    if module:
        optimizer = {"module": "keras.optimizers", **optimizer, "registered_name": None}
    return optimizer


NEW_ADAM = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}


def training(loss, optimizer):
    return {"loss": loss, "metrics": [["accuracy"]], "weighted_metrics": None, "loss_weights": None,
            "optimizer_config": optimizer}


def write_h5(path, keras_version, model_config, training_config, with_input_weights=False):
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = keras_version
        f.attrs["backend"] = "tensorflow"
        if model_config is not None:
            f.attrs["model_config"] = json.dumps(model_config)
        if training_config is not None:
            f.attrs["training_config"] = json.dumps(training_config)
        weights = f.create_group("model_weights") if model_config is not None else f
        weights.attrs["keras_version"] = keras_version
        weights.attrs["backend"] = "tensorflow"
        names = ([b"input_1"] if with_input_weights else []) + [b"dense", b"dense_1"]
        weights.attrs["layer_names"] = np.array(names)
        if with_input_weights:
            weights.create_group("input_1").attrs["weight_names"] = np.array([], dtype="|S1")
        for name, kernel, bias in (("dense", W1, B1), ("dense_1", W2, B2)):
            group = weights.create_group(name)
            group.attrs["weight_names"] = np.array([f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()])
            inner = group.create_group(name)
            inner.create_dataset("kernel:0", data=kernel)
            inner.create_dataset("bias:0", data=bias)


def keras3_layer_config():
    policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "trainable": True,
            "dtype": policy, "layers": [
                {"module": "keras.layers", "class_name": "InputLayer",
                 "config": {"batch_shape": [None, 3], "dtype": "float32", "sparse": False, "name": "input_layer"},
                 "registered_name": None},
                {"module": "keras.layers", "class_name": "Dense",
                 "config": {"name": "dense", "trainable": True, "dtype": policy, "units": 4,
                            "activation": "sigmoid", "use_bias": True}, "registered_name": None,
                 "build_config": {"input_shape": [None, 3]}},
                {"module": "keras.layers", "class_name": "Dense",
                 "config": {"name": "dense_1", "trainable": True, "dtype": policy, "units": 2,
                            "activation": "softmax", "use_bias": True}, "registered_name": None,
                 "build_config": {"input_shape": [None, 4]}}]},
            "registered_name": None, "build_config": {"input_shape": [None, 3]}}


def main(out):
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)  # noqa: E731
    cat = "categorical_crossentropy"
    write_h5(p("hcopd-keras.h5"), "2.11.0", sequential(), training(cat, legacy_adam()))
    write_h5(p("keras22-functional-lr.h5"), "2.2.4", functional("Model"), training(cat, legacy_adam("lr")),
             with_input_weights=True)
    write_h5(p("keras24-sequential-sgd.h5"), "2.4.0", sequential(), training("mse", {
        "class_name": "SGD", "config": {"name": "SGD", "learning_rate": 0.01, "decay": 0.0, "momentum": 0,
                                        "nesterov": False}}))
    write_h5(p("keras211-functional-custom.h5"), "2.11.0", functional("Functional"),
             training(cat, new_optimizer("Custom>Adam", 1, module=False, **NEW_ADAM)), with_input_weights=True)
    write_h5(p("keras213-sequential-sparse.h5"), "2.13.1", sequential(new_style=True), training(
        {"module": "keras.losses", "class_name": "SparseCategoricalCrossentropy",
         "config": {"reduction": "auto", "name": "sparse_categorical_crossentropy", "from_logits": False,
                    "ignore_class": None}, "registered_name": None},
        new_optimizer("Adam", 0.0010000000474974513, **NEW_ADAM)))
    write_h5(p("keras215-functional-logits.h5"), "2.15.0", functional("Functional", "linear", new_style=True),
             training({"module": "keras.losses", "class_name": "CategoricalCrossentropy",
                       "config": {"reduction": "auto", "name": "categorical_crossentropy", "from_logits": True,
                                  "label_smoothing": 0.0, "axis": -1}, "registered_name": None},
                      new_optimizer("Adam", 0.0010000000474974513, **NEW_ADAM)), with_input_weights=True)
    write_h5(p("keras215-sequential-adamw.h5"), "2.15.0", sequential(new_style=True), training(
        cat, new_optimizer("AdamW", 0.001, **dict(NEW_ADAM, weight_decay=0.004))))
    write_h5(p("keras215-sequential-noloss.h5"), "2.15.0", sequential(new_style=True), None)
    write_h5(p("keras3-sequential.h5"), "3.3.3", keras3_layer_config(), training(cat, new_optimizer("Adam", 0.001)))
    write_h5(p("weights-only.h5"), "2.15.0", None, None)

    weights = io.BytesIO()
    with h5py.File(weights, "w") as f:
        f.create_group("layers")
    with zipfile.ZipFile(p("keras3-sequential.keras"), "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.3.3", "date_saved": "2024-05-01@12:00:00"}))
        z.writestr("config.json", json.dumps(keras3_layer_config()))
        z.writestr("model.weights.h5", weights.getvalue())

    hidden = 1.0 / (1.0 + np.exp(-(INPUTS @ W1 + B1)))
    logits = hidden @ W2 + B2
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    outputs = exp / exp.sum(axis=1, keepdims=True)
    print("inputs", INPUTS.tolist())
    print("softmax outputs", outputs.tolist())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
