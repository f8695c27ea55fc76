#!/usr/bin/python3
"""Peers of bench/train measured the way bench/train measures itself.

Same task as ../../../shared/peers/anchor_train.py (x ~ N(0,1), y = tanh(x.W) + 0.1 N(0,1),
ReLU MLP, linear output, MSE, Adam lr 1e-3, batch B, shuffled every epoch), but after every
epoch it prints the mean squared error over the whole training set (mean over samples and
outputs, as torch.nn.MSELoss), evaluated outside the timed span, for scikit-learn
(float32, partial_fit one epoch at a time) and PyTorch (one thread).

Run with one thread and the machine's OPENBLAS_* overrides removed:
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \
    /usr/bin/python3 bench/train/peers.py 65536 64 64 32 8 64 3
"""
import sys, time
import numpy as np

N, D, H1, H2, O, B, E = (int(a) for a in sys.argv[1:8]) if len(sys.argv) >= 8 else (65536, 64, 64, 32, 8, 64, 3)
flops = 2 * (2 * (D * H1 + H1 * H2 + H2 * O) + H1 * H2 + H2 * O)  # as bench/train: no dx for layer 1
rng = np.random.default_rng(0)
X = rng.standard_normal((N, D))
W = rng.standard_normal((D, O)) / np.sqrt(D)
Y = np.tanh(X @ W) + 0.1 * rng.standard_normal((N, O))
X32, Y32 = X.astype(np.float32), Y.astype(np.float32)


def report(who, el, cpu, mse):
    sps = N * E / el
    print(f"{who}: {sps:,.0f} samples/s  {sps * flops / 1e9:.1f} GFLOP/s  {N * E / cpu:,.0f} samples/cpu-s  full_mse_per_epoch="
          + ",".join(f"{m:.4f}" for m in mse), flush=True)


def sk():
    from sklearn.neural_network import MLPRegressor
    import warnings
    warnings.filterwarnings("ignore")
    m = MLPRegressor(hidden_layer_sizes=(H1, H2), solver="adam", batch_size=B, learning_rate_init=1e-3,
                     alpha=1e-4, shuffle=True, random_state=0)
    el, cpu, mse = 0.0, 0.0, []
    for _ in range(E):
        t, c = time.perf_counter(), time.process_time()
        m.partial_fit(X32, Y32)
        el += time.perf_counter() - t; cpu += time.process_time() - c
        mse.append(float(((m.predict(X32) - Y32) ** 2).mean()))
    report("sklearn f32 (alpha 1e-4)", el, cpu, mse)


def pt():
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(D, H1), torch.nn.ReLU(), torch.nn.Linear(H1, H2), torch.nn.ReLU(),
                              torch.nn.Linear(H2, O))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(X32), torch.from_numpy(Y32)
    lossf = torch.nn.MSELoss()
    el, cpu, mse = 0.0, 0.0, []
    for _ in range(E):
        t, c = time.perf_counter(), time.process_time()
        perm = torch.randperm(N)
        for i in range(0, N, B):
            idx = perm[i:i + B]
            opt.zero_grad(); loss = lossf(net(xt[idx]), yt[idx]); loss.backward(); opt.step()
        el += time.perf_counter() - t; cpu += time.process_time() - c
        with torch.no_grad():
            mse.append(lossf(net(xt), yt).item())
    report("pytorch f32 threads=1", el, cpu, mse)


sk(); pt()
