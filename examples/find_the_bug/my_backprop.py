"""A user's own backpropagation in numpy, with classic mistakes to switch on.

Reads a `backprop exercise` problem and writes its numbers of one training step in the answers
format, as a student would, then `backprop check --exercise ... --answers ...` says which
mistake made them. Half squared error, one association, biases (as `backprop exercise`'s
defaults):

    python3 my_backprop.py exercise/exercise.json answers.json --bug no-derivative-hidden
"""
import argparse
import json

import numpy as np

ACT = {
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), lambda y: y * (1 - y)),
    "tanh": (np.tanh, lambda y: 1 - y**2),
    "identity": (lambda x: x, lambda y: np.ones_like(y)),
}
BUGS = ["no-derivative-hidden", "sign", "own-output", "weights-forgotten", "transpose"]

parser = argparse.ArgumentParser()
parser.add_argument("exercise")
parser.add_argument("answers")
parser.add_argument("--bug", action="append", default=[], choices=BUGS)
args = parser.parse_args()

ex = json.load(open(args.exercise))
model = ex["model"]
W = [np.array(w) for w in model["W"]]
b = [np.array(v) for v in model["b"]]
bias = model["bias"]
acts = [ACT[a] for a in model["activations"]]
x = np.array(ex["inputs"][0])
target = np.array(ex["targets"][0])
eta = ex["learning_rate"]

# forward
ys = [x]
for l, w in enumerate(W):
    ys.append(acts[l][0](w @ ys[-1] + bias * b[l]))

# backward
err = ys[-1] - target
if "sign" in args.bug:
    err = target - ys[-1]
deltas = [err * acts[-1][1](ys[-1])]
for l in range(len(W) - 1, 0, -1):
    w = W[l].T if "transpose" in args.bug else W[l]
    if "weights-forgotten" in args.bug:
        back = np.full(w.shape[1], deltas[0].sum())
    else:
        back = w.T @ deltas[0]
    fprime = 1 if "no-derivative-hidden" in args.bug else acts[l - 1][1](ys[l])
    deltas.insert(0, fprime * back)

dW, db = [], []
for l in range(len(W)):
    source = ys[l + 1] if "own-output" in args.bug else ys[l]
    if "own-output" in args.bug:
        dW.append(np.outer(deltas[l], np.ones_like(ys[l])) * source[:, None])
    else:
        dW.append(np.outer(deltas[l], source))
    db.append(deltas[l] * bias)

answers = {
    "format": "backprop-answers",
    "version": 1,
    "y": [y.tolist() for y in ys],
    "delta": [[]] + [d.tolist() for d in deltas],
    "dE/dW": [g.tolist() for g in dW],
    "dE/db": [g.tolist() for g in db],
    "W_after": [(w - eta * g).tolist() for w, g in zip(W, dW)],
    "b_after": [(v - eta * g).tolist() for v, g in zip(b, db)],
}
json.dump(answers, open(args.answers, "w"), indent=1)
