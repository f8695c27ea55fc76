#!/bin/sh
# RUL through the product path: bin/train on C-MAPSS train_FD00x.txt with the flags
# given after the subset list, then bin/infer score on the test units converted to
# CSV, scored at each unit's last row against RUL_FD00x.txt (cap 125). Prints one line
# per subset and seed: RMSE, PHM08, units without a RUL, 80% band coverage and width,
# training wall and CPU seconds and peak memory.
#
#   sh bench/accuracy/rul-product.sh OUTDIR "FD001 FD003" "1 2 3" [bin/train flags...]
#
# Runs sequentially (the development machine has 2 shared cores).
set -eu
out=$1 subsets=$2 seeds=$3
shift 3
D=${FAULTLINE_DATASETS:-../shared/datasets}/cmapss
B=${BIN:-bin}
mkdir -p "$out"
hdr="unit,cycle,op_setting_1,op_setting_2,op_setting_3"
for i in $(seq 1 21); do hdr="$hdr,sensor_$i"; done
for fd in $subsets; do
	csv="$out/test_$fd.csv"
	[ -f "$csv" ] || { echo "$hdr"; sed -e 's/^ *//' -e 's/ *$//' -e 's/  */,/g' "$D/test_$fd.txt"; } >"$csv"
	for s in $seeds; do
		m="$out/$fd-s$s.model"
		/usr/bin/time -f '%e %M %U %S' -o "$out/$fd-s$s.time" "$B/train" --task rul --cmapss --csv "$D/train_$fd.txt" \
			--out "$m" --seed "$s" --progress log --log-level warn "$@" >/dev/null
		"$B/infer" score --model "$m" --csv "$csv" --asset-column unit --time-column cycle --out "$out/$fd-s$s.scores.csv" 2>/dev/null
		awk -F, -v fd="$fd" -v seed="$s" -v tf="$out/$fd-s$s.time" -v rulf="$D/RUL_$fd.txt" '
			BEGIN { n = 0; while ((getline l < rulf) > 0) { n++; tr[n] = (l + 0 > 125) ? 125 : l + 0 }; getline tl < tf; split(tl, tt, " ") }
			NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
			{ u = $(col["asset"]); rul[u] = $(col["rul"]); if ("rul_lo" in col) { lo[u] = $(col["rul_lo"]); hi[u] = $(col["rul_hi"]) } }
			END {
				se = 0; phm = 0; miss = 0; cov = 0; w = 0; nb = 0
				for (u = 1; u <= n; u++) {
					if (rul[u] == "") { miss++; continue }
					d = rul[u] - tr[u]; se += d * d
					phm += (d < 0) ? exp(-d / 13) - 1 : exp(d / 10) - 1
					if (lo[u] != "") { nb++; w += hi[u] - lo[u]; if (tr[u] >= lo[u] && tr[u] <= hi[u]) cov++ }
				}
				k = n - miss
				printf "%s seed %s: RMSE %.2f PHM08 %.1f unscored %d", fd, seed, sqrt(se / k), phm, miss
				if (nb > 0) printf " band80 coverage %.0f%% width %.1f", 100 * cov / nb, w / nb
				printf " train %ss wall %.0fs cpu %d MB\n", tt[1], tt[3] + tt[4], tt[2] / 1024
			}' "$out/$fd-s$s.scores.csv"
	done
done
