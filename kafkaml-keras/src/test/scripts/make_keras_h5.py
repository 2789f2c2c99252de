#!/usr/bin/env python3
"""Writes the small Keras Sequential model the kafkaml-keras tests import, without Keras or TensorFlow.

It writes, with h5py and numpy only (Debian: apt-get install python3-h5py python3-numpy), exactly the HDF5
layout that Keras 2 (tf.keras 2.x) `model.save("model.h5")` writes for this model:

    model = keras.Sequential([keras.Input(shape=(3,)),
                              keras.layers.Dense(4, activation="sigmoid"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])

- root attributes `keras_version`, `backend`, `model_config` (the model's JSON) and `training_config`;
- group `model_weights` with attribute `layer_names`, one group per layer with attribute `weight_names`,
  and the datasets `<layer>/<layer>/kernel:0` (shape [in, out]) and `<layer>/<layer>/bias:0`.

The weights are fixed numbers (below), so the expected outputs can be computed here with numpy and checked
by the Java test: it prints them, and KerasImportTest holds the same inputs and outputs.

Usage: python3 make_keras_h5.py ../resources/hcopd-keras.h5
"""
import json
import sys

import h5py
import numpy as np

W1 = np.array([[0.5, -0.25, 0.75, -1.0],
               [0.125, 0.375, -0.625, 0.875],
               [-0.5, 1.0, 0.25, -0.125]], dtype=np.float32)
B1 = np.array([0.1, -0.2, 0.3, -0.4], dtype=np.float32)
W2 = np.array([[1.0, -1.0], [-0.5, 0.5], [0.25, 0.75], [-0.75, 0.25]], dtype=np.float32)
B2 = np.array([0.05, -0.05], dtype=np.float32)
INPUTS = np.array([[1.0, 63.0, 2.0], [0.0, 0.5, -1.0], [0.2, -0.3, 0.4]], dtype=np.float32)


def dense_config(name, units, activation, batch_input_shape=None):
    config = {
        "name": name, "trainable": True, "dtype": "float32", "units": units, "activation": activation,
        "use_bias": True,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "bias_constraint": None,
    }
    if batch_input_shape is not None:
        config["batch_input_shape"] = batch_input_shape
    return {"class_name": "Dense", "config": config}


def main(path):
    model_config = {
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": [
            {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3], "dtype": "float32",
                                                    "sparse": False, "ragged": False, "name": "input_1"}},
            dense_config("dense", 4, "sigmoid", [None, 3]),
            dense_config("dense_1", 2, "softmax"),
        ]},
    }
    training_config = {
        "loss": "categorical_crossentropy", "metrics": [["accuracy"]], "weighted_metrics": None,
        "loss_weights": None,
        "optimizer_config": {"class_name": "Adam", "config": {
            "name": "Adam", "learning_rate": 0.001, "decay": 0.0, "beta_1": 0.9, "beta_2": 0.999,
            "epsilon": 1e-07, "amsgrad": False}},
    }
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.11.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(model_config)
        f.attrs["training_config"] = json.dumps(training_config)
        weights = f.create_group("model_weights")
        weights.attrs["keras_version"] = "2.11.0"
        weights.attrs["backend"] = "tensorflow"
        weights.attrs["layer_names"] = np.array([b"dense", b"dense_1"])
        for name, kernel, bias in (("dense", W1, B1), ("dense_1", W2, B2)):
            group = weights.create_group(name)
            group.attrs["weight_names"] = np.array([f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()])
            inner = group.create_group(name)
            inner.create_dataset("kernel:0", data=kernel)
            inner.create_dataset("bias:0", data=bias)

    hidden = 1.0 / (1.0 + np.exp(-(INPUTS @ W1 + B1)))
    logits = hidden @ W2 + B2
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    outputs = exp / exp.sum(axis=1, keepdims=True)
    print("inputs", INPUTS.tolist())
    print("outputs", outputs.tolist())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "hcopd-keras.h5")
