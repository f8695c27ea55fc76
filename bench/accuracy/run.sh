#!/bin/sh
# Reproduces every number in docs/benchmarks.md through bin/eval (the product's own
# training and live scoring code). Run from the repository root after `make build`
# (or `go build -o bin/eval ./cmd/eval`):
#
#   sh bench/accuracy/run.sh [rul-default|rul-tuned|rul-refit|rul-history|rul-round5|nab-default|nab-tuned|nab-forecast|nab-level|nab-novelty|sim-seeds|all]
#
# Datasets are read from $FAULTLINE_DATASETS (default ../shared/datasets); nothing is
# copied into the repository. Outputs (results.json, PNGs) go to bench-out/.
#
# The rul parts after rul-default reproduce earlier rounds (docs/history/cmapss.md):
# they pin the defaults of their time that have changed since (OLD: mse loss, no
# whole-history inputs, no age unless the round added it). Short histories are padded
# now (no flag turns that off), so their figures can differ a little from the rounds'.
# The product-path figures of the current defaults come from rul-product.sh.
set -eu
D=${FAULTLINE_DATASETS:-../shared/datasets}
OUT=${OUT:-bench-out}
EVAL=${EVAL:-bin/eval}
what=${1:-all}
OLD="--loss mse --history none"

rul() { # subset, name, extra flags...
	fd=$1; name=$2; shift 2
	echo "== C-MAPSS $fd ($name): $*"
	$EVAL rul --cmapss --train "$D/cmapss/train_$fd.txt" --csv "$D/cmapss/test_$fd.txt" \
		--rul "$D/cmapss/RUL_$fd.txt" --cap 125 --out "$OUT/$fd-$name" "$@"
}

nab() { # name, extra flags...
	name=$1; shift
	echo "== NAB realKnownCause ($name): $*"
	$EVAL nab --data-dir "$D/nab" --files realKnownCause --out "$OUT/nab-$name" "$@"
}

case $what in
rul-default | all)
	rul FD001 default
	rul FD003 default
	;;
esac
case $what in
rul-tuned | all)
	# Near-constant sensors dropped (constant in FD001/FD003 or nearly so).
	IG=sensor_1,sensor_5,sensor_6,sensor_10,sensor_16,sensor_18,sensor_19
	rul FD001 tuned --ignore $IG $OLD
	rul FD003 tuned --ignore $IG $OLD
	;;
esac
case $what in
rul-refit | all)
	# Age input, lower learning rate, more patience, then a refit on all 100 units
	# for the median best epoch count (see docs/benchmarks.md, round 2).
	IG=sensor_1,sensor_5,sensor_6,sensor_10,sensor_16,sensor_18,sensor_19
	R="--ignore $IG --age --lr 5e-4 --patience 40 --refit-all $OLD"
	rul FD001 refit $R
	rul FD003 refit $R
	;;
esac
case $what in
rul-history | all)
	# Round 3: the refit configuration plus whole-history EWMA inputs (alphas 0.1 and
	# 0.03) per sensor (see docs/benchmarks.md, round 3).
	IG=sensor_1,sensor_5,sensor_6,sensor_10,sensor_16,sensor_18,sensor_19
	R="--ignore $IG --age --lr 5e-4 --patience 40 --refit-all --history 0.1,0.03 --loss mse"
	rul FD001 history $R
	rul FD003 history $R
	;;
esac
case $what in
rul-round5 | all)
	# Round 5: ten networks; FD003 with the asymmetric loss (docs/benchmarks.md, round 5).
	IG=sensor_1,sensor_5,sensor_6,sensor_10,sensor_16,sensor_18,sensor_19
	R="--ignore $IG --age --lr 5e-4 --patience 40 --refit-all --history 0.1,0.03 --ensemble 10"
	for s in 1 2 3; do
		rul FD001 e10-s$s $R --loss mse --seed $s
		rul FD003 e10-asym4-s$s $R --loss asym:4 --seed $s
	done
	;;
esac
case $what in
sim-seeds | all)
	# Simulated plant with the trainer's defaults, seeds 1-5 (round 5).
	for s in 1 2 3 4 5; do
		echo "== simulated plant, seed $s"
		$EVAL sim --machines-per-type 3 --healthy 7d --faulty 60d --rate 1/60 --seed $s --out "$OUT/sim-s$s"
	done
	;;
esac
case $what in
nab-default | all) nab default ;;
esac
case $what in
nab-tuned | all) nab tuned --margin 5 --clear 100 ;;
esac
case $what in
# Forecast the next value, likelihood score (standard score of the 10-row mean of the
# residual against its last 2000 rows), warn at z 4.
nab-forecast | all) nab forecast --forecast 1 --likelihood 10,2000,300 --z 4 --clear 300 --window 10 ;;
esac
case $what in
# Round 3: forecaster ensemble + residual likelihood (20-row mean vs last 4000 rows)
# + a two-sided level score on the change since the same time last week; warn at z 3.5,
# seeds 1-5 (docs/benchmarks.md, "Round 3: NAB").
nab-level | all)
	for s in 1 2 3 4 5; do
		nab level-s$s --seed $s --plots=false --detector nets --forecast 1 --window 10 --ensemble 5 --likelihood 20,4000,300 \
			--level 30,4000,300 --level-lag 168h --z 3.5 --clear 50
	done
	;;
esac
case $what in
# Round 4: residual and level likelihoods against the whole history (30000 rows), the
# level with its own warn z (3.25), the novelty bar (500,50,0.7), clear 100, seeds 1-5
# (docs/benchmarks.md, "Round 4: NAB").
nab-novelty | all)
	for s in 1 2 3 4 5; do
		nab novelty-s$s --seed $s --plots=false --detector nets --forecast 1 --window 10 --ensemble 5 --likelihood 20,30000,300 \
			--level 30,30000,300 --level-lag 168h --z 3.5 --level-z 3.25 --novelty 500,50,0.7 --clear 100
	done
	;;
esac
