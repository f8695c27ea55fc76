// Package trainsrc loads training history for cmd/train into trainer.Data: from a CSV
// export or NASA C-MAPSS file (through internal/dataset, the one CSV reader), or from
// InfluxDB telemetry (through a small SeriesReader interface that influxstore.Store
// satisfies), pivoting sensor fields into sorted columns with NaN where a sensor did
// not report. It also summarises what was loaded for the training report, and names
// the groups (per machine, per machine type) that --all trains.
package trainsrc
