"""The saved LSTM's forward pass in NumPy: the ``.h5``'s weights read with h5py, no TensorFlow.

The service scores with this (``app.core.model_file.load_scoring_model``); training and
evaluation keep the Keras model. The ``.h5`` stays the one source: this reads the architecture from
its ``model_config`` and the weights from its ``model_weights``, and knows what ``training/model.py``
and ``training/fit.py`` save: (bidirectional, stacked) LSTMs under a sigmoid ``Dense`` head, alone
or as an ``Average`` of such members. Anything else raises ``UnsupportedModel``, and the caller
falls back to Keras. Scores agree with the Keras model to float32 rounding
(``tests/test_numpy_lstm.py``: 1e-5 on the BBC test articles).

Why not Keras on a lighter backend: Keras 3.15's numpy backend imports SciPy and JAX, and loading
Keras at all costs a worker seconds and memory that a few matrix products do not need
(docs/startup.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class UnsupportedModel(ValueError):
    """The ``.h5`` holds an architecture this forward pass does not reproduce (the caller uses Keras)."""


@dataclass
class Direction:
    """One LSTM read in one direction. Gates in Keras' order (input, forget, cell, output), each ``units`` wide.

    The input, forget and output columns of the weights are halved at load (exact in floating
    point), so that one ``tanh`` of the pre-activations gives all four gates:
    ``sigmoid(z) = 0.5 * tanh(z / 2) + 0.5``.
    """

    kernel: np.ndarray  # (input_dim, 4 * units)
    recurrent: np.ndarray  # (units, 4 * units)
    bias: np.ndarray  # (4 * units,)
    backwards: bool
    zero_output_for_mask: bool  # a padded step outputs zeros (Keras sets it inside Bidirectional), else the last output

    @property
    def units(self) -> int:
        return self.recurrent.shape[0]


@dataclass
class Member:
    """Recurrent layers, each one or two directions (concatenated), then the per-sentence head."""

    layers: list[list[Direction]]
    head_kernel: np.ndarray  # (2 * units, 1) for a bidirectional last layer
    head_bias: np.ndarray  # (1,)


class NumpyLSTM:
    """``(x (batch, length, dim), mask (batch, length)) -> scores (batch, length, 1)``, as the Keras model computes them.

    All the recurrences of one depth (both directions of every member) step together, in one
    batched matrix product per time step (``Depth``); each input is projected once, for all of them.
    """

    def __init__(self, members: list[Member], input_dim: int):
        self.members = members
        self.dim = input_dim
        # Read as the Keras model's: serving takes shapes from the loaded model, whichever it is.
        self.input_shape = ((None, None, input_dim), (None, None))
        self.depths = [Depth(members, d) for d in range(max(len(m.layers) for m in members))]

    def __call__(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        real = np.asarray(mask) > 0  # (batch, length)
        inputs = [x] * len(self.members)  # each member's input to its next layer
        for depth in self.depths:
            for i, output in depth(inputs, real).items():
                inputs[i] = output
        scores = [sigmoid(inputs[i] @ m.head_kernel + m.head_bias) for i, m in enumerate(self.members)]
        return scores[0] if len(scores) == 1 else np.mean(scores, axis=0, dtype=np.float32)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return (0.5 * np.tanh(0.5 * z) + 0.5).astype(np.float32)


class Depth:
    """The recurrent layers at one depth of every member: their directions, stepped together.

    A padded step (mask 0) keeps the state, as Keras does with a mask, and outputs zeros or the last
    output (``zero_output_for_mask``); a backward direction reads the sequence from its end, so
    right padding never reaches its state.
    """

    def __init__(self, members: list[Member], depth: int):
        self.jobs = [(i, d) for i, m in enumerate(members) if depth < len(m.layers) for d in m.layers[depth]]
        self.units = self.jobs[0][1].units
        if any(d.units != self.units for _, d in self.jobs):
            raise UnsupportedModel("LSTMs of one depth with different widths")
        # One input projection per distinct input: the sentences at the first depth (every member's
        # every direction in one product), each member's own output deeper.
        if depth == 0:
            sharing = [list(range(len(self.jobs)))]
        else:
            sharing = [[j for j, (k, _) in enumerate(self.jobs) if k == i] for i in dict.fromkeys(i for i, _ in self.jobs)]
        # (the input's member, its jobs, their kernels side by side, their biases)
        self.groups = [(self.jobs[js[0]][0], js, np.concatenate([self.jobs[j][1].kernel for j in js], axis=1),
                        np.concatenate([self.jobs[j][1].bias for j in js])) for js in sharing]
        self.recurrent = np.stack([d.recurrent for _, d in self.jobs])  # (n, units, 4 * units)
        self.backwards = np.array([d.backwards for _, d in self.jobs])
        self.repeat = np.array([not d.zero_output_for_mask for _, d in self.jobs])[:, None, None]  # (n, 1, 1)
        # tanh of the (halved) pre-activations, then 0.5 * a + 0.5 for the three sigmoid gates
        self.scale = np.repeat(np.array([0.5, 0.5, 1.0, 0.5], np.float32), self.units)
        self.offset = np.repeat(np.array([0.5, 0.5, 0.0, 0.5], np.float32), self.units)

    def __call__(self, inputs: list[np.ndarray], real: np.ndarray) -> dict[int, np.ndarray]:
        """Each member's output of this depth ``(batch, length, directions * units)``, by member."""
        batch, length = real.shape
        n, units = len(self.jobs), self.units
        projected = np.empty((length, n, batch, 4 * units), np.float32)  # time first: one contiguous slice per step
        for i, js, kernel, bias in self.groups:
            z = inputs[i].reshape(batch * length, -1) @ kernel
            z += bias
            z = z.reshape(batch, length, len(js), 4 * units).transpose(1, 2, 0, 3)  # (length, jobs, batch, 4 * units)
            for k, j in enumerate(js):
                projected[:, j] = z[::-1, k] if self.backwards[j] else z[:, k]
        out = self.step(projected, real)
        outputs: dict[int, list[np.ndarray]] = {}
        for j, (i, d) in enumerate(self.jobs):
            o = out[::-1, j] if d.backwards else out[:, j]  # back to the sentences' order
            outputs.setdefault(i, []).append(o.transpose(1, 0, 2))
        return {i: np.ascontiguousarray(np.concatenate(o, axis=-1)) for i, o in outputs.items()}

    def step(self, projected: np.ndarray, real: np.ndarray) -> np.ndarray:
        """The recurrence over ``projected`` ``(length, n, batch, 4 * units)``: outputs ``(length, n, batch, units)``.

        In place, into buffers made once: at one article, a step is a dozen small operations, and
        allocating their results would cost as much as computing them.
        """
        length, n, batch, width = projected.shape
        units = self.units
        z = np.empty((n, batch, width), np.float32)
        i, f, g, o = (z[..., k * units : (k + 1) * units] for k in range(4))
        h, c = np.zeros((n, batch, units), np.float32), np.zeros((n, batch, units), np.float32)
        h_next, c_next, tmp = (np.empty((n, batch, units), np.float32) for _ in range(3))
        out = np.empty((length, n, batch, units), np.float32)
        padded = not real.all()
        if padded:  # the mask in each direction's reading order: (length, n, batch, 1)
            keep = np.where(self.backwards[None, :, None], real.T[::-1, None, :], real.T[:, None, :])[..., None]
            shown = (keep | self.repeat).astype(np.float32)
        for t in range(length):
            np.matmul(h, self.recurrent, out=z)
            z += projected[t]
            np.tanh(z, out=z)
            z *= self.scale
            z += self.offset
            np.multiply(f, c, out=c_next)
            np.multiply(i, g, out=tmp)
            c_next += tmp
            np.tanh(c_next, out=tmp)
            np.multiply(o, tmp, out=h_next)
            if padded:
                np.copyto(c, c_next, where=keep[t])
                np.copyto(h, h_next, where=keep[t])
                np.multiply(h, shown[t], out=out[t])
            else:
                c, c_next, h, h_next = c_next, c, h_next, h
                out[t] = h
        return out


def read_numpy_lstm(path: str | Path) -> NumpyLSTM:
    """The forward pass of the Keras ``.h5`` at ``path``; ``UnsupportedModel`` for an architecture it does not reproduce."""
    import h5py

    with h5py.File(path, "r") as f:
        if "model_config" not in f.attrs or "model_weights" not in f:
            raise UnsupportedModel("not a Keras .h5 with a model_config and model_weights")
        config = json.loads(f.attrs["model_config"])
        groups = f["model_weights"]
        weights = {name: _group_weights(groups[name]) for name in groups if isinstance(groups[name], h5py.Group)}
    try:
        return _read_config(config, weights)
    except (KeyError, TypeError, IndexError, StopIteration) as e:  # a config of another shape than Keras 3 writes
        raise UnsupportedModel(f"unexpected model_config: {type(e).__name__}: {e}") from e


def _read_config(config: dict, weights: dict[str, dict[str, np.ndarray]]) -> NumpyLSTM:
    layers = _layers(config)
    inputs = [l for l in layers if l["class_name"] == "InputLayer"]
    rest = [l for l in layers if l["class_name"] != "InputLayer"]
    if len(inputs) != 2:
        raise UnsupportedModel("the model does not take (sentences, mask)")
    input_dim = int(next(l for l in inputs if len(l["config"]["batch_shape"]) == 3)["config"]["batch_shape"][-1])
    if rest and rest[-1]["class_name"] == "Average" and all(l["class_name"] == "Functional" for l in rest[:-1]):
        members = [_member(_layers(l), weights.get(l["config"]["name"], {})) for l in rest[:-1]]
    else:  # one member: its layers' weights sit in one group per layer
        members = [_member(layers, {k: v for group in weights.values() for k, v in group.items()})]
    return NumpyLSTM(members, input_dim)


def _layers(config: dict) -> list[dict]:
    if config.get("class_name") != "Functional":
        raise UnsupportedModel(f"a {config.get('class_name')} model, not a Functional one")
    return config["config"]["layers"]


def _group_weights(group) -> dict[str, np.ndarray]:
    """A layer group's weights by the names Keras gives them (``forward_lstm_0/lstm_cell/kernel``)."""
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs.get("weight_names", [])]
    return {name: np.asarray(group[name], dtype=np.float32) for name in names}


def _member(layers: list[dict], weights: dict[str, np.ndarray]) -> Member:
    """One scorer: ``InputLayer`` x2, then recurrent layers in a chain, then the ``Dense`` head."""
    body = [l for l in layers if l["class_name"] != "InputLayer"]
    if not body or body[-1]["class_name"] != "Dense":
        raise UnsupportedModel("the model does not end in a Dense head")
    previous = "sentences"
    for layer in body:  # a chain: each layer reads the one before it (the first, the sentences)
        sources = [a["config"]["keras_history"][0] for node in layer.get("inbound_nodes", [])
                   for a in node.get("args", []) if isinstance(a, dict) and a.get("class_name") == "__keras_tensor__"]
        if sources != [previous]:
            raise UnsupportedModel(f"layer {layer['config']['name']} does not read {previous!r} alone")
        previous = layer["config"]["name"]
    recurrent = []
    for layer in body[:-1]:
        if layer["class_name"] == "Bidirectional":
            if layer["config"].get("merge_mode") != "concat":
                raise UnsupportedModel(f"Bidirectional merge_mode {layer['config'].get('merge_mode')!r}")
            directions = [layer["config"]["layer"], layer["config"]["backward_layer"]]
        elif layer["class_name"] == "LSTM":
            directions = [layer]
        else:
            raise UnsupportedModel(f"a {layer['class_name']} layer")
        recurrent.append([_direction(d, weights) for d in directions])
    head = body[-1]["config"]
    if head.get("activation") != "sigmoid" or not head.get("use_bias", True):
        raise UnsupportedModel("the head is not a Dense with a bias and a sigmoid")
    name = head["name"]
    return Member(recurrent, _weight(weights, f"{name}/kernel"), _weight(weights, f"{name}/bias"))


def _direction(layer: dict, weights: dict[str, np.ndarray]) -> Direction:
    config = layer["config"]
    if layer.get("class_name") != "LSTM":
        raise UnsupportedModel(f"a {layer.get('class_name')} layer")
    expected = {"activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True, "return_sequences": True,
                "stateful": False}
    for key, value in expected.items():
        if config.get(key) != value:
            raise UnsupportedModel(f"LSTM {config['name']} has {key} {config.get(key)!r}, not {value!r}")
    name = config["name"]
    kernel = _weight(weights, f"{name}/lstm_cell/kernel")
    recurrent = _weight(weights, f"{name}/lstm_cell/recurrent_kernel")
    bias = _weight(weights, f"{name}/lstm_cell/bias")
    units = recurrent.shape[0]
    halve = np.repeat(np.array([0.5, 0.5, 1.0, 0.5], np.float32), units)  # the sigmoid gates' columns
    return Direction(kernel * halve, recurrent * halve, bias * halve, bool(config.get("go_backwards")),
                     bool(config.get("zero_output_for_mask")))


def _weight(weights: dict[str, np.ndarray], name: str) -> np.ndarray:
    """The weight named ``name``, or ``.../name``: Keras prefixes a layer's weights with its wrapper's
    name in some saves (``bi_lstm_0/forward_lstm_0/...``), not in others."""
    found = [w for key, w in weights.items() if key == name or key.endswith("/" + name)]
    if len(found) != 1:
        raise UnsupportedModel(f"{'no' if not found else 'more than one'} weight {name} in the .h5")
    return found[0]
