// Package report writes what a training run measured where people look: metrics.json
// (the trainer's Report, the model's identity and a summary of the data) and PNG plots
// drawn with gonum/plot — loss curves of every network, validation residuals against
// the alert threshold, predictions against truth, and the anomaly score over the
// validation period. It also renders training progress: a rewritten line on a
// terminal, structured log lines otherwise.
package report
