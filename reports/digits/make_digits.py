"""How far back does a digit classifier's loss gradient reach?  Digits read pixel by pixel.

Run ``python reports/digits/make_digits.py`` from the checkout (needs torch and scikit-learn).
Each 8 x 8 image is read as a sequence of its 64 pixels (d = 1), ending at its last inked
pixel: a padded batch with one length per digit.  Two classifiers are trained with PyTorch
on packed sequences (seeds fixed, about a minute of CPU): a 2-layer LSTM and a bidirectional
GRU, each with a linear head ``fc`` on the top layer's h_n.  For each, untrained and trained,
gradflow measures on 200 held-out digits, each over its own length:

* ``||dz/ds_{T-k}||`` and ``||dz/dx_{T-k}||``, z the logits (``gf.decay`` with the readout);
* the split by lag of the cross-entropy's weight gradient (``gf.bptt(..., by_lag=True)`` on
  the network) and its long-lag share.

It writes ``digits.png`` and ``results.json`` beside itself; ``--save DIR`` also writes the
trained checkpoints (``lstm.pt``, ``gru.pt``: state dicts with ``rnn.`` and ``fc.``), the
held-out pixels ``pixels.npy`` (B, 64, 1) and their ``lengths.npy`` (B,), for the command line.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from matplotlib.figure import Figure
from sklearn.datasets import load_digits

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import gradflow as gf  # noqa: E402
from gradflow.analysis.backprop import lag_norms  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
HIDDEN, EPOCHS, BATCH, HELD_OUT = 32, 12, 64, 200
LONG_LAGS = (16, 32)
MODELS = {"LSTM, 2 layers": ("lstm", torch.nn.LSTM, {"num_layers": 2}),
          "GRU, bidirectional": ("gru", torch.nn.GRU, {"bidirectional": True})}


class Classifier(torch.nn.Module):
    """A recurrent module ``rnn`` and a linear head ``fc`` on its top layer's h_n."""

    def __init__(self, cls, options):
        super().__init__()
        self.rnn = cls(1, HIDDEN, batch_first=True, **options)
        self.fc = torch.nn.Linear(HIDDEN * (2 if self.rnn.bidirectional else 1), 10)

    def forward(self, x, lengths):
        """The logits of a padded batch (B, T, 1), run as packed sequences."""
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                         enforce_sorted=False)
        _, h = self.rnn(packed)
        h = h[0] if isinstance(h, tuple) else h
        top = h[-2:] if self.rnn.bidirectional else h[-1:]
        return self.fc(torch.cat(list(top), dim=-1))


def digits():
    """Pixels (N, 64, 1) in [0, 1], lengths (last inked pixel + 1), labels; a fixed split."""
    data = load_digits()
    pixels = data.images.reshape(len(data.images), 64, 1) / 16.0
    inked = pixels[:, :, 0] > 0
    lengths = 64 - np.argmax(inked[:, ::-1], axis=1)
    order = np.random.default_rng(0).permutation(len(pixels))
    pixels, lengths, labels = pixels[order], lengths[order], data.target[order]
    for b, length in enumerate(lengths):
        pixels[b, length:] = 0.0
    test = slice(0, HELD_OUT)
    train = slice(HELD_OUT, None)
    return (pixels[train], lengths[train], labels[train]), (pixels[test], lengths[test],
                                                            labels[test])


def train(model, data, seed):
    """Adam on the cross-entropy, packed sequences, fixed seed; returns the training time."""
    xs, lengths, labels = (torch.tensor(a) for a in data)
    xs = xs.float()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(EPOCHS):
        for batch in torch.randperm(len(xs), generator=g).split(BATCH):
            optimiser.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xs[batch], lengths[batch]),
                                                     labels[batch])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
    return time.perf_counter() - start


def accuracy(model, data):
    """Share of the digits whose largest logit is their label (float64)."""
    xs, lengths, labels = data
    with torch.no_grad():
        logits = model.double()(torch.tensor(xs), torch.tensor(lengths))
    return float((logits.argmax(1).numpy() == labels).mean())


def loss_split(net, readout, data):
    """The cross-entropy's weight gradient over the batch, split by lag: (lags 0..63,)."""
    xs, lengths, labels = data
    by_lag = {}
    for x, length, label in zip(xs, lengths, labels, strict=True):
        x = x[:length]
        h_n = net.final_hidden(x)
        z = readout(h_n)
        p = np.exp(z - z.max())
        p /= p.sum()
        p[label] -= 1.0
        dh = readout.weight.T @ p / len(xs)  # dL/dh_n of the mean cross-entropy
        grad_out = np.zeros((length, net.output_size))
        grad_out[length - 1, :net.hidden] = dh[:net.hidden]  # forward h_n: the last output
        if net.bidirectional:
            grad_out[0, net.hidden:] = dh[net.hidden:]  # reverse h_n: the first output
        r = gf.bptt(net, x, grad_out, by_lag=True)
        for name, parts in r.grads_by_lag.items():
            total = by_lag.setdefault(name, np.zeros((64,) + parts.shape[1:]))
            total[:length] += parts
    return lag_norms(by_lag, 64)


def measure(module, data):
    """The figures of one classifier on the held-out digits, and a check against torch."""
    net = gf.network_from_torch(module.rnn)
    readout = gf.Readout.from_torch(module.fc)
    xs, lengths, _ = data
    with torch.no_grad():  # the imported network runs as the module does, packed sequences
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            torch.tensor(xs), torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        _, h = module.rnn(packed)
    h = (h[0] if isinstance(h, tuple) else h).numpy()
    top = np.concatenate(list(h[-2:] if net.bidirectional else h[-1:]), axis=-1)
    gap = float(np.max(np.abs(net.final_hidden(xs, lengths=lengths) - top)))
    r = gf.decay(net, xs, lengths=lengths, readout=readout)
    mass = loss_split(net, readout, data)
    share = {f"lags>={k}": float(mass[k:].sum() / mass.sum()) for k in LONG_LAGS}
    return r, mass, {"h_n_max_abs_difference_to_torch": gap,
                     "log10_dz_ds": {f"lag {k}": float(r.log10_norm2_output[k])
                                     for k in (8, 16, 32, 48)},
                     "log10_dz_dx": {f"lag {k}": float(r.log10_norm2_input[k])
                                     for k in (8, 16, 32, 48)},
                     "gradient_horizon": r.gradient_horizon, "verdict": r.verdict,
                     "loss_gradient_share": share}


def draw(curves, path):
    """The four panels: logits' view, input sensitivity, loss gradient by lag, coverage."""
    fig = Figure(figsize=(13, 8.2), layout="constrained")
    axes = fig.subplots(2, 2)
    styles = {"untrained": dict(ls="--", lw=1.4), "trained": dict(ls="-", lw=2.0)}
    colours = dict(zip(MODELS, ("C0", "C3"), strict=True))
    for (name, stage), (r, mass) in curves.items():
        style = dict(color=colours[name], **styles[stage])
        label = f"{name}, {stage}"
        lags = r.lags
        for ax, curve, band in ((axes[0, 0], r.log10_norm2_output,
                                 r.log10_norm2_output_quantiles),):
            ax.plot(lags, curve, label=label, **style)
            ax.fill_between(lags, band[0], band[-1], color=colours[name],
                            alpha=0.08 if stage == "untrained" else 0.15, lw=0)
        axes[0, 1].plot(np.arange(len(r.log10_norm2_input)), r.log10_norm2_input, label=label,
                        **style)
        axes[1, 0].plot(np.arange(64), np.log10(np.maximum(mass / mass.sum(), 1e-300)),
                        label=label, **style)
        axes[1, 1].plot(lags, r.sequences_per_lag, color="0.3", lw=1.2)
    axes[0, 0].set(title="(a) what the logits see: median log10 ||dz/ds_(T-k)||, 10-90% band",
                   xlabel="lag k (steps before the digit's last inked pixel)",
                   ylabel="log10 norm")
    axes[0, 1].set(title="(b) input sensitivity: median log10 ||dz/dx_(T-k)||",
                   xlabel="lag k", ylabel="log10 norm")
    axes[1, 0].set(title="(c) cross-entropy's weight gradient by lag: share of the mass",
                   xlabel="lag |t - k|", ylabel="log10 (||g_lag|| / sum of ||g_lag||)")
    axes[1, 1].set(title="(d) held-out digits long enough to reach lag k",
                   xlabel="lag k", ylabel="sequences")
    for ax in axes.flat[:3]:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[1, 1].grid(alpha=0.3)
    fig.suptitle("scikit-learn digits read pixel by pixel (T up to 64, d = 1), "
                 f"{HELD_OUT} held-out digits, each over its own length")
    fig.savefig(path, dpi=90, metadata={"Software": None})


def main():
    """Train, measure, write the figure and the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", metavar="DIR", help="Also write the checkpoints and inputs.")
    args = parser.parse_args()
    torch.set_num_threads(1)
    train_data, test_data = digits()
    results, curves = {}, {}
    for name, (key, cls, options) in MODELS.items():
        torch.manual_seed(0)
        model = Classifier(cls, options).double()
        before = accuracy(model, test_data)
        r, mass, figures = measure(model, test_data)
        curves[(name, "untrained")] = (r, mass)
        model = model.float()
        seconds = train(model, train_data, seed=1)
        model = model.double()
        after = accuracy(model, test_data)
        r2, mass2, figures2 = measure(model, test_data)
        curves[(name, "trained")] = (r2, mass2)
        results[name] = {"untrained": {"accuracy": before, **figures},
                         "trained": {"accuracy": after, "training_seconds": round(seconds, 1),
                                     **figures2}}
        if args.save:
            os.makedirs(args.save, exist_ok=True)
            torch.save(model.state_dict(), os.path.join(args.save, f"{key}.pt"))
        print(f"{name}: accuracy {before:.3f} -> {after:.3f} ({seconds:.0f} s of training)")
    if args.save:
        np.save(os.path.join(args.save, "pixels.npy"), test_data[0])
        np.save(os.path.join(args.save, "lengths.npy"), test_data[1])
    lengths = test_data[1]
    results["held_out"] = {"digits": HELD_OUT, "lengths_min_median_max":
                           [int(lengths.min()), float(np.median(lengths)), int(lengths.max())]}
    with open(os.path.join(HERE, "results.json"), "w") as fh:
        json.dump(results, fh, indent=1)
    draw(curves, os.path.join(HERE, "digits.png"))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
