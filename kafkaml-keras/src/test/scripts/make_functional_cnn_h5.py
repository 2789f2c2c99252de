#!/usr/bin/env python3
"""Writes cnn-functional.h5: the case cnn-lstm-shapes' cnn.h5 (Input [3, 3, 1] -> Conv2D(1, 2x2) -> Flatten ->
Dense(2, softmax)) saved as a Keras 2 functional model instead of a Sequential one, with the same weights and
training_config, so that DL4J imports it as a ComputationGraph. h5py only, no TensorFlow.

Usage: python3 make_functional_cnn_h5.py ../../../../shared/cases/cnn-lstm-shapes/cnn.h5 ../resources/cnn-functional.h5
"""
import json
import sys

import h5py


def main(source, target):
    with h5py.File(source, "r") as src, h5py.File(target, "w") as out:
        config = json.loads(src.attrs["model_config"])
        layers, previous = [], None
        for layer in config["config"]["layers"]:
            layer = dict(layer)
            layer["name"] = layer["config"]["name"]
            layer["inbound_nodes"] = [] if previous is None else [[[previous, 0, 0, {}]]]
            previous = layer["name"]
            layers.append(layer)
        functional = {"class_name": "Functional", "config": {
            "name": "model", "layers": layers,
            "input_layers": [[layers[0]["name"], 0, 0]], "output_layers": [[previous, 0, 0]]}}
        # Written fresh (not copied then replaced): the importer looks for "Sequential" in the file's bytes.
        for key in src.attrs:
            out.attrs[key] = json.dumps(functional).encode() if key == "model_config" else src.attrs[key]
        src.copy("model_weights", out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
