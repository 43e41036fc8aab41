"""Overhead of ``gradflow.torch.Monitor`` on a 2-layer LSTM character-level language model.

The same seeded training loop (embedding -> 2-layer LSTM -> linear, cross-entropy over the next
character of generated text, Adam) runs with and without a Monitor; runs alternate so both see
the same machine load, and the overhead is the ratio of the median wall times.  The Monitor's
Numba kernels are compiled (and a first snapshot taken) before any timed run.

glibc's malloc moves its mmap and trim thresholds up whenever a large block is freed, and
PyTorch's CPU training steps run 40-70 ms here depending on where they stand (below them each
step's large tensors are new pages, faulted in and zeroed): a snapshot that frees large arrays
can make the steps after it faster than those of a run without one.  The benchmark pins both
thresholds (32 MiB and 128 MiB, ``mallopt``) for both arms, so that the overhead is the
Monitor's own; ``--dynamic-malloc`` leaves them as glibc moves them.

    python benchmarks/bench_monitor.py [--steps 200 --every 50 --repeats 3 --sequences 4]
"""

import argparse
import ctypes
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def generated_text(length, seed=0):
    """Text from a random order-2 Markov chain over 40 symbols: structure at short lags."""
    rng = np.random.default_rng(seed)
    symbols = 40
    table = rng.dirichlet(np.full(symbols, 0.1), size=(symbols, symbols))
    out = np.empty(length, dtype=np.int64)
    out[:2] = rng.integers(symbols, size=2)
    for t in range(2, length):
        out[t] = rng.choice(symbols, p=table[out[t - 2], out[t - 1]])
    return out, symbols


def language_model(torch, symbols, hidden, embedding):
    class CharLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(symbols, embedding)
            self.lstm = torch.nn.LSTM(embedding, hidden, num_layers=2, batch_first=True)
            self.head = torch.nn.Linear(hidden, symbols)

        def forward(self, chars):
            out, _ = self.lstm(self.embed(chars))
            return self.head(out)

    return CharLM()


def train(torch, text, symbols, args, *, monitor, history=None):
    """Wall time of ``args.steps`` training steps, with or without a Monitor."""
    from gradflow.torch import Monitor

    torch.manual_seed(0)
    model = language_model(torch, symbols, args.hidden, args.embedding)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(1)
    data = torch.from_numpy(text)
    loss_fn = torch.nn.CrossEntropyLoss()
    mon = (Monitor(model.lstm, every=args.every, history=history, sequences=args.sequences)
           if monitor else None)
    start = time.perf_counter()
    for _ in range(args.steps):
        starts = rng.integers(0, text.size - args.length - 1, size=args.batch)
        idx = torch.from_numpy(starts[:, None] + np.arange(args.length + 1))
        chars = data[idx]
        logits = model(chars[:, :-1])
        loss = loss_fn(logits.reshape(-1, symbols), chars[:, 1:].reshape(-1))
        loss.backward()
        if mon is not None:
            mon.step(loss=loss.item())
        opt.step()
        opt.zero_grad()
    wall = time.perf_counter() - start
    snapshot_time = None
    if mon is not None:
        snapshot_time = mon.history["summary"]["monitor_time_s"]
        mon.close()
    return wall, snapshot_time, loss.item()


def pin_malloc_thresholds():
    """Fix glibc's mmap threshold at 32 MiB and its trim threshold at 128 MiB; False elsewhere."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 << 20) and
                libc.mallopt(M_TRIM_THRESHOLD, 128 << 20))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--sequences", type=int, default=None,
                        help="sequences per snapshot (default: the Monitor's)")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--embedding", type=int, default=32)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dynamic-malloc", action="store_true",
                        help="leave glibc's mmap and trim thresholds free to move")
    args = parser.parse_args()
    pinned = False if args.dynamic_malloc else pin_malloc_thresholds()

    import torch

    from gradflow.torch import Monitor

    if args.sequences is None:
        import inspect

        args.sequences = inspect.signature(Monitor).parameters["sequences"].default
    text, symbols = generated_text(200_000)
    print(f"char LM: {symbols} symbols, embedding {args.embedding}, 2-layer LSTM n = "
          f"{args.hidden}, T = {args.length}, batch {args.batch}, {args.steps} steps, Monitor "
          f"every {args.every} on {args.sequences} sequences; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; malloc thresholds "
          f"{'pinned' if pinned else 'dynamic'}")
    warm = argparse.Namespace(**{**vars(args), "steps": 1, "every": 1})
    train(torch, text, symbols, warm, monitor=True)  # compiles the kernels
    with tempfile.TemporaryDirectory() as folder:
        plain, watched, snapshots = [], [], []
        for r in range(args.repeats):
            plain.append(train(torch, text, symbols, args, monitor=False)[0])
            wall, snap, _ = train(torch, text, symbols, args, monitor=True,
                                  history=Path(folder) / f"run{r}.json")
            watched.append(wall)
            snapshots.append(snap)
            print(f"  repeat {r}: without {plain[-1]:.2f} s, with {wall:.2f} s "
                  f"(snapshots {snap:.2f} s)", flush=True)
    count = args.steps // args.every
    ratio = statistics.median(watched) / statistics.median(plain)
    paired = statistics.median(w / p for w, p in zip(watched, plain, strict=True))
    print(f"median wall time without Monitor: {statistics.median(plain):.2f} s "
          f"({1e3 * statistics.median(plain) / args.steps:.1f} ms a step)")
    print(f"median wall time with Monitor:    {statistics.median(watched):.2f} s")
    print(f"median time in {count} snapshots: {statistics.median(snapshots):.2f} s "
          f"({1e3 * statistics.median(snapshots) / count:.0f} ms each)")
    print(f"overhead: {100 * (ratio - 1):+.1f}% (ratio of medians {ratio:.3f}; median of "
          f"paired ratios {paired:.3f})")


if __name__ == "__main__":
    main()
