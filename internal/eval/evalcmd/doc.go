// Package evalcmd is bin/eval: it trains or loads models, runs every prediction
// through internal/scoring (the live path the edge daemon runs), and scores them with
// internal/eval. Three families:
//
//	eval rul     --model M | --train train_FD001.txt  --csv test_FD001.txt --rul RUL_FD001.txt --cmapss
//	eval nab     --data-dir ../shared/datasets/nab [--files realKnownCause]
//	eval anomaly --model M --csv F --labels COL
//
// Each prints a table and writes results.json and PNG plots to --out.
package evalcmd
