// Package model is Faultline's multi-layer perceptron regressor: dense
// layers, hand-written backpropagation, seven optimizers, mini-batch
// training with early stopping, allocation-free inference and a versioned
// binary encoding. It does no I/O beyond byte slices, no logging, and
// imports no other Faultline package.
//
// # Forward pass
//
// Layer l maps h_{l-1} (h_0 = x) to h_l = f_l(W_l·h_{l-1} + b_l), W_l of
// shape out x in. Activations f: linear, ReLU max(0,z), LeakyReLU
// (z, or 0.01·z for z<0), tanh, sigmoid 1/(1+e^-z). Initialisation is
// PyTorch's nn.Linear default: W and b uniform on ±1/√fan_in for every
// layer (until issue 20: He ±√(6/fan_in) for ReLU layers, Xavier
// otherwise, biases zero; it converged 2-4x slower than PyTorch).
//
// # Objective and backpropagation
//
// For N samples with O outputs, with residual r = y - t:
//
//	MSE   L = 1/(NO) Σ r²                          dL/dy = 2r/(NO)
//	MAE   L = 1/(NO) Σ |r|                         dL/dy = sign(r)/(NO)
//	Huber L = 1/(NO) Σ ½r² if |r|≤δ, δ(|r|-½δ)     dL/dy = r or δ·sign(r), /(NO)
//	Asym  L = 1/(NO) Σ w·r², w = Late if r > 0, else 1   dL/dy = 2w·r/(NO)
//
// The asymmetric squared error makes over-predictions cost Late times more: a
// remaining-useful-life model that predicts too late is worse than one that predicts
// too early, and the PHM08 score punishes it exponentially.
//
// plus (λ/2)·Σ W² over weights only (biases are not regularised). With
// g_l = dL/dh_l, backprop computes δ_l = g_l ⊙ f'_l, where f' is written in
// terms of the output (ReLU: h>0, tanh: 1-h², sigmoid: h(1-h)) so
// pre-activations need not be stored; then dW_l = δ_lᵀ·h_{l-1} + λW_l,
// db_l = Σ_rows δ_l and g_{l-1} = δ_l·W_l. Gradients may be clipped to a
// global Euclidean norm c: g ← g·c/||g|| when ||g|| > c.
//
// # Optimizers
//
// With learning rate η (from a Schedule: constant, step decay
// η·γ^⌊e/k⌋, or cosine), gradient g and per-parameter state:
//
//	SGD       p -= η·g
//	Momentum  v = μv + g;                     p -= η·v
//	Nesterov  v = μv + g;                     p -= η·(g + μv)
//	AdaGrad   s += g²;                        p -= η·g/(√s + ε)
//	RMSprop   s = ρs + (1-ρ)g²;               p -= η·g/(√s + ε)
//	Adam      m = β1m + (1-β1)g; v = β2v + (1-β2)g²;
//	          p -= η·m̂/(√v̂ + ε), m̂ = m/(1-β1^t), v̂ = v/(1-β2^t)
//	AdamW     weights p -= η·wd·p, then Adam
//
// Parameters are one flat vector, all weights first then all biases, so an
// Optimizer is a few lines over slices and the weight/bias split is one
// index (the nw argument of Step).
//
// # Precision
//
// MLP is generic over float32 and float64 rather than a float32 network
// plus a separate float64 reference: the code that is gradient-checked in
// float64 is, line for line, the code that trains in float32, so the check
// covers the fast path and there is no second implementation to drift.
// Accumulations that span a whole epoch (losses, norms, Adam's bias
// correction) are kept in float64 regardless of T.
//
// # Speed
//
// Training and batch prediction multiply whole batches with a packed,
// register-tiled matrix kernel (gemm.go); steady-state training and
// prediction allocate nothing. Built with GOEXPERIMENT=simd on amd64,
// float32 work goes to vector code chosen at run time: on AVX-512 an 8x32
// Go-assembly FMA kernel (gemm_avx512_amd64.s) that reads A in place and
// starts from the bias, plus vector ReLU, bias-gradient and Adam loops
// (vec_simd.go) that reproduce the portable loops' bits; on AVX2+FMA only
// a 4x16 FMA kernel. The default build is portable pure Go, and is what
// the edge (arm64, armv7) builds use. Figures are in docs/performance.md.
//
// # Determinism
//
// Initialisation and shuffling use seeded PCG generators, never the global
// one, and all arithmetic is sequential: the same seed, data and config
// give the same weights bit for bit on the same build and CPU class. The
// SIMD build rounds differently (fused multiply-add) from the portable one,
// and its AVX-512 and AVX2 paths differ from each other in the last bits
// (the AVX-512 forward pass starts each sum at the bias).
//
// # Concurrency
//
// An MLP may be read by any number of goroutines (Predictors, Objective,
// MarshalBinary) as long as none trains it at the same time. Train writes
// the network's parameters and must have it to itself. A Predictor owns
// scratch buffers and is not safe for concurrent use: give each goroutine
// its own; they are cheap and may share one MLP.
package model
