#!/bin/sh
# RUL defaults chosen on training data only: k-fold hold-out of C-MAPSS training
# units. Fold k holds out the units with unit % 5 == k-1, truncates each at a random
# cycle (fixed per unit, like the test files: at least 31 cycles kept, true RUL at
# least 5), trains bin/train on the other units with the flags given after the fold
# list (seed = k) and scores the held-out units with bin/infer score at their last
# kept row (cap 125). The test files and RUL_FD00x.txt are never read.
#
#   sh bench/accuracy/rul-holdout.sh OUTDIR "FD001 FD003" "1 2 3 4 5" [bin/train flags...]
#
# Prints per subset and fold RMSE, PHM08 and band coverage, then the subset's
# figures over all held-out units of the folds given.
set -eu
out=$1 subsets=$2 folds=$3
shift 3
D=${FAULTLINE_DATASETS:-../shared/datasets}/cmapss
B=${BIN:-bin}
mkdir -p "$out"
hdr="unit,cycle,op_setting_1,op_setting_2,op_setting_3"
for i in $(seq 1 21); do hdr="$hdr,sensor_$i"; done
for fd in $subsets; do
	all="$out/$fd-all.csv"
	[ -f "$all" ] || sed -e 's/^ *//' -e 's/ *$//' -e 's/  */,/g' "$D/train_$fd.txt" >"$all"
	: >"$out/$fd-pairs"
	for k in $folds; do
		tr="$out/$fd-f$k-train.csv" te="$out/$fd-f$k-test.csv" truth="$out/$fd-f$k-truth"
		if [ ! -f "$te" ]; then
			{ echo "$hdr"; awk -F, -v k="$k" '$1 % 5 != k - 1' "$all"; } >"$tr"
			# Lengths first, then each held-out unit's kept rows and its true RUL.
			awk -F, -v k="$k" -v truth="$truth" -v hdr="$hdr" '
				NR == FNR { if ($1 % 5 == k - 1) { L[$1] = $2 }; next }
				FNR == 1 { print hdr; srand(1000 * k + 17) ; for (u in L) n++; split("", keep) }
				$1 % 5 == k - 1 {
					u = $1
					if (!(u in keep)) { keep[u] = 31 + int(rand() * (L[u] - 36 + 1)); order[++m] = u }
					if ($2 <= keep[u]) print
				}
				END { for (i = 1; i <= m; i++) { u = order[i]; r = L[u] - keep[u]; print u, (r > 125 ? 125 : r) > truth } }' "$all" "$all" >"$te"
		fi
		m="$out/$fd-f$k.model"
		"$B/train" --task rul --cmapss --csv "$tr" --out "$m" --seed "$k" --progress log --log-level warn "$@" >/dev/null 2>&1
		"$B/infer" score --model "$m" --csv "$te" --asset-column unit --time-column cycle --out "$out/$fd-f$k.scores.csv" 2>/dev/null
		awk -F, -v truth="$truth" -v fd="$fd" -v k="$k" -v pairs="$out/$fd-pairs" '
			BEGIN { while ((getline l < truth) > 0) { split(l, a, " "); tr[a[1]] = a[2]; n++ } }
			NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
			{ u = $(col["asset"]); rul[u] = $(col["rul"]); lo[u] = $(col["rul_lo"]); hi[u] = $(col["rul_hi"]) }
			END {
				for (u in tr) {
					if (rul[u] == "") { miss++; continue }
					d = rul[u] - tr[u]; se += d * d; c++
					phm += (d < 0) ? exp(-d / 13) - 1 : exp(d / 10) - 1
					if (tr[u] >= lo[u] && tr[u] <= hi[u]) cov++
					print d, (tr[u] >= lo[u] && tr[u] <= hi[u]) >> pairs
				}
				printf "%s fold %s: RMSE %.2f PHM08/unit %.2f units %d unscored %d band80 %.0f%%\n", fd, k, sqrt(se / c), phm / c, c, miss, 100 * cov / c
			}' "$out/$fd-f$k.scores.csv"
	done
	awk -v fd="$fd" '{ d = $1; se += d * d; n++; phm += (d < 0) ? exp(-d / 13) - 1 : exp(d / 10) - 1; cov += $2 }
		END { printf "%s all folds: RMSE %.2f PHM08/unit %.2f (x100 units %.0f) units %d band80 %.0f%%\n", fd, sqrt(se / n), phm / n, 100 * phm / n, n, 100 * cov / n }' "$out/$fd-pairs"
done
