// Package eval is the arithmetic of Faultline's accuracy figures: remaining-useful-life
// error (RMSE and the PHM08 score), point-wise and event-wise anomaly metrics, and the
// Numenta Anomaly Benchmark score, and the matching of alerts with the simulator's
// truth (truth.go: fault episodes, detection, lead time, false alerts) that `make demo`,
// `eval sim` and bench/accuracy/sim report. It is pure apart from reading a truth file
// and printing that summary: no clock, no models, no servers. The programs that train,
// score and print tables live in internal/eval/evalcmd.
//
// RUL, with d = predicted - true per asset:
//
//	RMSE  = sqrt(mean(d^2))
//	PHM08 = sum(exp(-d/13) - 1) over d < 0  +  sum(exp(d/10) - 1) over d >= 0
//
// PHM08 punishes late predictions (d > 0, the machine fails before we said) harder.
//
// NAB (Lavin and Ahmad 2015; numenta/NAB nab/sweeper.py), per file of n rows:
//   - probation: the first min(floor(0.15 n), 0.15*5000) rows; detections there are
//     ignored, and a window with no row after probation is not scored;
//   - sigma(x) = 2/(1+exp(5x)) - 1, and -1 for x >= 3;
//   - a detection at row i inside a window [l, r] (width w = r-l+1) is worth
//     A_TP * sigma(-(r-i+1)/w) / sigma(-1); only the best (= first) detection in a
//     window counts, and a window without one costs -A_FN;
//   - a detection outside every window is worth A_FP * sigma(|i - r'|/(w'-1)) where
//     [l', r'] is the closest preceding window, or -A_FP when no window precedes it;
//     every such detection counts;
//   - normalised = 100 (raw - null) / (perfect - null), where null never fires
//     (-A_FN per window) and perfect detects each window at its first row (+A_TP per
//     window); over a set of files raw, null and perfect are summed first.
package eval
