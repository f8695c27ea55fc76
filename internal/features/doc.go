// Package features turns per-machine multivariate sensor series into
// fixed-length feature vectors, identically for training (ExtractBatch)
// and for the live daemon (Extractor.Push).
//
// The package is pure: no clock, no I/O, no logging. Callers supply dst
// buffers; inputs are never modified. Everything that changes the numbers
// lives in Spec, which is stored in model files and compared by
// Spec.Fingerprint at inference time.
//
// # Windows
//
// A window is the last W = Spec.Window samples. A window closes at sample
// index e (0-based) when e >= W-1 and (e-(W-1)) % Stride == 0, in both
// batch and streaming. Output order is: for each sensor in Spec.Sensors,
// the features in Spec.Features order (lag expanded in Spec.Lags order),
// then the band energies if the sensor is listed in Spec.Spectral.Sensors;
// Spec.FeatureNames gives the matching "sensor.feature" names.
//
// # Feature formulas
//
// For one sensor's window x[0..n-1] (oldest first), with
// mean = Σx/n and population central moments m_k = Σ(x-mean)^k / n:
//
//	last   x[n-1]
//	mean   Σx / n
//	std    sqrt(m2)                       population (divide by n), not n-1
//	min    min x
//	max    max x
//	ptp    max - min
//	rms    sqrt(Σx² / n)
//	slope  Σ(t-t̄)(x_t-mean) / Σ(t-t̄)²      least squares vs sample index t=0..n-1, t̄=(n-1)/2
//	skew   m3 / m2^1.5                     population skewness g1
//	kurt   m4 / m2² - 3                    population excess kurtosis g2 (0 for a Gaussian)
//	crest  max|x| / rms
//	ewma   s_0 = x[0]; s_t = α x_t + (1-α) s_{t-1}; value s_{n-1}, α = Spec.EWMAAlpha
//	diff   x[n-1] - x[0]                   (= sum of first differences, = (n-1)·mean diff)
//	lagK   x[n-1-K]                        value K samples before the last, 1 <= K <= n-1
//	bandB  Σ_{j in band B} P_j            spectral, see below
//
// The EWMA starts at the window's first sample rather than carrying state
// across windows, so a vector depends only on its window and batch and
// streaming agree regardless of where a stream starts.
//
// Degenerate cases never produce NaN: if m2 <= (1e-12·max|x|)² the window
// is treated as constant (std = skew = kurt = 0, since the tiny m2 is
// rounding noise of the mean); if rms = 0 then crest = 0. Should a feature
// still overflow (inputs near ±1.8e308) the window is skipped as
// SkipNonFinite. NaN and ±Inf therefore never appear in the output.
//
// Spectral bands: with X = FFT of (x - mean) (gonum dsp/fourier, no
// tapering window), the one-sided power of bin j = 1..⌊n/2⌋ is
//
//	P_j = c_j |X_j|² / n²,   c_j = 1 if n is even and j = n/2, else 2,
//
// so Σ_j P_j = m2 (Parseval): band energies add up to the variance. Bins
// are split into Spec.Spectral.Bands contiguous groups, band b covering
// bins [1 + b·h/B, 1 + (b+1)·h/B) with h = ⌊n/2⌋ (integer division). A
// sine of amplitude A on bin j contributes A²/2 to its band.
//
// # Missing data
//
// A value is missing when it is NaN or ±Inf. Per sensor, a missing value
// is forward-filled with the sensor's last observed value if the current
// run of consecutive missing samples is at most Spec.MaxFill; the fill
// may reach back before the window's first sample. Otherwise it stays
// unfilled. When a window closes:
//
//   - if any value in it is unfilled (gap longer than MaxFill, or nothing
//     observed yet to fill from) it is skipped as SkipGap;
//   - else if any sensor has more than MaxMissingFrac·Window missing
//     (filled) values it is skipped as SkipTooMissing;
//   - else features are computed from the filled values.
//
// Skipped windows are counted in Stats; the streaming Extractor also
// reports the reason of the latest one through LastSkip.
//
// # Streaming cost
//
// Push stores a sample and updates missing counts in O(sensors). When a
// window closes, features are recomputed from the ordered window in
// O(sensors·Window) (plus O(W log W) per spectral sensor): running sums
// would make streaming differ from batch in the last bits, and bit-for-bit
// agreement is what lets a model trained offline be trusted online. The
// amortised cost per sample is thus O(sensors·Window/Stride). Push does
// not allocate.
//
// # Scaling and operating regimes
//
// Scaler (ZScore: mean/population std; Robust: median/IQR with linear
// interpolation) maps x to (x - Center)/Scale; a column with zero spread
// gets Scale 1. RegimeModel clusters operating-setting columns (load,
// speed, altitude, Mach, ...) with seeded k-means++ on standardised
// settings, or takes given regime ids, and z-scores each sensor with the
// statistics of its regime, so that a change of regime is not read as
// wear (NASA C-MAPSS FD002/FD004 have six such regimes). Regimes with
// fewer than MinCount samples use global statistics. Apply it to raw rows
// before feature extraction.
//
// All stored types (Spec, Scaler, RegimeModel) carry a Version, decode
// strictly (unknown keys fail) and are validated on decode.
package features
