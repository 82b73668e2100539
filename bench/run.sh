#!/bin/sh
# make bench: the measurements of the "Performance" issue in one run, printed and written
# to bench/RESULTS.md (README, "Benchmarks"):
#   1. every conv layer against the sgemm ceiling at its GEMM shapes (conv_bench);
#   2. `reusenet bench` train-step and forward for each model x thread count, each in its
#      own process (so the peak memory is that configuration's), in rounds: every
#      configuration runs ITERS/ROUNDS iterations per round, and its samples from all
#      rounds are pooled, so that a burst of load from other programs on the host lands
#      on a few samples of many configurations rather than on all of one;
#   3. the same in PyTorch (bench/torch_bench.py), oneDNN and im2col + BLAS, when
#      `$TORCH_PY -c 'import torch'` works;
#   4. the swap scan with activation reuse against the naive one, on a small synthetic
#      dataset and two freshly initialised models (nothing is trained);
#   5. the predictors of "will a source help?": weight matching of two PSPNets (align),
#      per-layer CKA and LogME/LEEP (one forward pass per model over the data);
#   6. when the MPI=1 build exists (build-mpi/reusenet; BENCH_MPI=0 skips it): 2 ranks x 1
#      thread against 1 rank x 2 threads and the projection to N nodes (bench/mpi.sh).
#
# Settings (environment): BENCH_QUICK=1 for a smoke test (1 iteration, 64x64, batch 2);
# each can be set on its own: BENCH_ITERS, BENCH_ROUNDS (2), BENCH_WARMUP, BENCH_SIZE, BENCH_BATCH,
# BENCH_THREADS ("1 2"), BENCH_CONFIGS ("pspnet unet32 unet64"), BENCH_SWAP_CONFIGS
# ("pspnet unet32"), BENCH_SWAP_SLICES (slices per volume, 4), BENCH_REPEATS (conv
# samples), BENCH_TORCH=0 / BENCH_SWAP=0 / BENCH_CONV=0 / BENCH_PRED=0 to skip a part, BENCH_RESULTS (the
# Markdown file), BENCH_DIR (logs and scratch, default build/bench), BENCH_BLAS (the BLAS
# the build was asked for: checked against `reusenet --version`).
set -eu

BIN=${BIN:-build/reusenet}
CONV_BENCH=${CONV_BENCH:-build/bench/conv_bench}
TORCH_PY=${TORCH_PY:-/usr/bin/python3}
BENCH_DIR=${BENCH_DIR:-build/bench}
RESULTS=${BENCH_RESULTS:-bench/RESULTS.md}
HERE=$(dirname "$0")

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
    d_iters=1 d_rounds=1 d_warmup=0 d_size=64 d_batch=2 d_repeats=1 d_conv_warmup=0 d_min_ms=0 d_slices=2
else
    d_iters=10 d_rounds=2 d_warmup=2 d_size=128 d_batch=8 d_repeats=5 d_conv_warmup=1 d_min_ms=10 d_slices=4
fi
ITERS=${BENCH_ITERS:-$d_iters}
ROUNDS=${BENCH_ROUNDS:-$d_rounds}
ROUND_ITERS=$(( (ITERS + ROUNDS - 1) / ROUNDS ))
WARMUP=${BENCH_WARMUP:-$d_warmup}
SIZE=${BENCH_SIZE:-$d_size}
BATCH=${BENCH_BATCH:-$d_batch}
REPEATS=${BENCH_REPEATS:-$d_repeats}
THREADS=${BENCH_THREADS:-"1 2"}
CONFIGS=${BENCH_CONFIGS:-"pspnet unet32 unet64"}
SWAP_CONFIGS=${BENCH_SWAP_CONFIGS:-${BENCH_CONFIGS:-"pspnet unet32"}}   # unet64: 4x the time
WORK=$BENCH_DIR/work
RUNS=$WORK/runs.tsv          # tool mode config threads median min max peak_rss baseline_rss
SWAPS=$WORK/swap.tsv
PREDS=$WORK/predictors.tsv

say() { printf '\n== %s\n' "$*" >&2; }
now() { date +%s.%N 2>/dev/null | sed 's/\.N$//'; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }
arch_of() { case $1 in pspnet) echo pspnet ;; unet*) echo unet ;; *) return 1 ;; esac; }
width_of() { w=${1#unet}; case $1 in unet[0-9]*) echo "$w" ;; *) echo 32 ;; esac; }
commas() { echo "$*" | tr ' ' ','; }
max_threads() { echo "$THREADS" | tr ' ' '\n' | sort -n | tail -n 1; }

for c in $CONFIGS $SWAP_CONFIGS; do
    arch_of "$c" > /dev/null || { echo "bench: BENCH_CONFIGS: unknown '$c' (pspnet, unetF)" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "bench: $BIN is missing (make all)" >&2; exit 1; }
if [ -n "${BENCH_BLAS:-}" ] && ! "$BIN" --version 2>&1 | grep -qi "^blas: $BENCH_BLAS"; then
    echo "bench: BLAS=$BENCH_BLAS was asked for, but $BIN says: $("$BIN" --version 2>&1 | grep '^blas' || echo 'nothing')" >&2
    exit 1
fi
[ "${BENCH_CONV:-1}" != 1 ] || [ -x "$CONV_BENCH" ] || { echo "bench: $CONV_BENCH is missing (make $CONV_BENCH)" >&2; exit 1; }
# PyTorch's OpenBLAS (its im2col path) loads with the same model-number table as ours: when
# reusenet chose a kernel for this processor (engine/blas.c), PyTorch gets it too, so that
# the two im2col + BLAS paths run the same GEMM kernel.
KERNEL_NOTE=""
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    chosen=$("$BIN" --version 2>/dev/null | sed -n 's/^blas: OpenBLAS.*, kernel \([A-Za-z0-9]*\) (OPENBLAS_CORETYPE)$/\1/p')
    if [ -n "$chosen" ]; then
        export OPENBLAS_CORETYPE="$chosen"
        KERNEL_NOTE="OPENBLAS_CORETYPE=$chosen for every program: OpenBLAS does not recognise this processor, reusenet chose the kernel by its features, and PyTorch's OpenBLAS runs the same one."
    fi
else
    KERNEL_NOTE="OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE for every program (set by the user)."
fi
rm -rf "$WORK"
mkdir -p "$WORK"
: > "$RUNS"
: > "$SWAPS"; : > "$WORK/swap-full.tsv"
T_START=$(now)
LOAD_START=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
awk -v l="$LOAD_START" 'BEGIN { if (l + 0 > 0.5) printf "bench: warning: load average %s: other programs are using the CPU, the times will not be reliable\n", l }' >&2
[ "$QUICK" = 1 ] || echo "bench: the full run takes about 20 minutes on an idle 2-core machine (BENCH_QUICK=1: a smoke test)" >&2

# The logs of one configuration's rounds as one log: the first round's header, every timed
# iteration ("  run k: X ms"), then the summary over all of them in cli/cmd_bench.c's
# format (which torch_bench.py copies): the median (mean of the middle two for an even
# count), min, max, the largest peak RSS, the first "after import". No summary when a
# round failed, which record then reports.
merge_rounds() {  # out log...
    out=$1; shift
    awk -v rounds=$# '
        FNR == 1 { file++ }
        /^  run [0-9]+: / { v[++n] = $3; next }
        /^median_ms / { done++; next }
        /peak RSS/ {
            r = $0; sub(/.*peak RSS /, "", r); sub(/ MiB.*/, "", r)
            if (r + 0 > rss + 0) rss = r
            if (base == "" && $0 ~ /after import/) { base = $0; sub(/.*after import /, "", base); sub(/ MiB.*/, "", base) }
            next
        }
        file == 1 { print }
        END {
            for (i = 2; i <= n; i++) {          # insertion sort: a few dozen samples
                x = v[i] + 0
                for (j = i - 1; j >= 1 && v[j] + 0 > x; j--) v[j + 1] = v[j]
                v[j + 1] = x
            }
            for (i = 1; i <= n; i++) printf "  run %d: %.1f ms\n", i, v[i]
            if (done < rounds || n == 0) exit
            med = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            printf "min %.1f ms, max %.1f ms, peak RSS %s MiB%s\n", v[1], v[n], rss, base == "" ? "" : ", after import " base " MiB"
            printf "median_ms %.2f\n", med
        }' "$@" > "$out"
}

# One timed configuration: the log's last two lines are the summary (cli/cmd_bench.c's format,
# which torch_bench.py copies). Appends a row to $RUNS; stops the run when reusenet fails.
record() {  # tool mode config threads log
    med=$(sed -n 's/^median_ms //p' "$5")
    rest=$(sed -n 's/^min \([0-9.]*\) ms, max \([0-9.]*\) ms, peak RSS \([0-9.]*\) MiB.*/\1 \2 \3/p' "$5")
    base=$(sed -n 's/.*after import \([0-9.]*\) MiB.*/\1/p' "$5")
    if [ -z "$med" ] || [ -z "$rest" ]; then
        echo "bench: $1 $2 $3 $4 threads failed; see $5:" >&2
        tail -n 5 "$5" >&2
        printf '%s\t%s\t%s\t%s\tfailed\t\t\t\t\n' "$1" "$2" "$3" "$4" >> "$RUNS"
        return 1
    fi
    # shellcheck disable=SC2086 # $rest is "min max rss", three words
    set -- "$1" "$2" "$3" "$4" "$med" $rest
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "${base:--}" >> "$RUNS"
    printf '  %-9s %-10s %-7s %s threads: median %s ms\n' "$1" "$2" "$3" "$4" "$5" >&2
}

# ---- 1. conv layers against the sgemm ceiling ----------------------------------------------
T_CONV=$(now)
if [ "${BENCH_CONV:-1}" = 1 ]; then
    say "1/4 conv layers against the sgemm ceiling ($CONV_BENCH)"
    # shellcheck disable=SC2086 # the lists are split into words on purpose
    "$CONV_BENCH" --models "$(commas $CONFIGS)" --threads "$(commas $THREADS)" \
        --batch "$BATCH" --size "$SIZE" --repeats "$REPEATS" --warmup "$d_conv_warmup" \
        --min-sample-ms "$d_min_ms" > "$WORK/conv.md"
else
    printf '## Convolutions against the sgemm ceiling\n\nSkipped (BENCH_CONV=0).\n' > "$WORK/conv.md"
fi
S_CONV=$(since "$T_CONV")

# ---- 2. and 3. reusenet and PyTorch, every configuration in its own process ----------------
HAVE_TORCH=0
TORCH_NOTE=""
if [ "${BENCH_TORCH:-1}" != 1 ]; then
    TORCH_NOTE="PyTorch skipped (BENCH_TORCH=0)."
elif "$TORCH_PY" -c 'import torch' > /dev/null 2>&1; then
    HAVE_TORCH=1
else
    TORCH_NOTE="PyTorch not measured: \`$TORCH_PY -c 'import torch'\` fails (Debian: apt-get install python3-torch)."
    echo "bench: $TORCH_NOTE" >&2
fi
say "2/4 reusenet bench$( [ $HAVE_TORCH = 1 ] && echo ' and 3/4 PyTorch (oneDNN, im2col + BLAS)'), $ROUNDS round(s) of $ROUND_ITERS iterations after $WARMUP warm-up"
T_STEPS=$(now)
FAILED=0
round=1
while [ $round -le "$ROUNDS" ]; do
    for c in $CONFIGS; do
        arch=$(arch_of "$c"); width=$(width_of "$c")
        for mode in train-step forward; do
            for t in $THREADS; do
                # Interleaved, so that the runs compared in one row are close in time.
                log=$WORK/reusenet-$mode-$c-$t.round$round.log
                "$BIN" bench "$mode" --arch "$arch" --width "$width" --batch "$BATCH" --size "$SIZE" \
                    --threads "$t" --iters "$ROUND_ITERS" --warmup "$WARMUP" > "$log" 2>&1 || true
                grep -q '^median_ms ' "$log" || { record reusenet "$mode" "$c" "$t" "$log" || true; FAILED=1; break 4; }
                [ $HAVE_TORCH = 1 ] || continue
                for variant in onednn im2col; do
                    log=$WORK/torch-$variant-$mode-$c-$t.round$round.log
                    flag=""; [ $variant = im2col ] && flag=--no-mkldnn
                    "$TORCH_PY" "$HERE/torch_bench.py" "$mode" --arch "$arch" --width "$width" \
                        --batch "$BATCH" --size "$SIZE" --threads "$t" --iters "$ROUND_ITERS" \
                        --warmup "$WARMUP" $flag > "$log" 2>&1 || true
                done
            done
        done
    done
    round=$((round + 1))
done
[ $FAILED = 0 ] || { echo "bench: reusenet bench failed; no results written" >&2; exit 1; }
for c in $CONFIGS; do
    for mode in train-step forward; do
        for t in $THREADS; do
            for tool in reusenet torch-onednn torch-im2col; do
                [ $tool = reusenet ] || [ $HAVE_TORCH = 1 ] || continue
                log=$WORK/$tool-$mode-$c-$t.log
                # shellcheck disable=SC2046 # the rounds' logs, one word each
                merge_rounds "$log" $(ls "$WORK/$tool-$mode-$c-$t".round*.log)
                record "$tool" "$mode" "$c" "$t" "$log" || true
            done
        done
    done
done
S_STEPS=$(since "$T_STEPS")
TORCH_ID=""
if [ $HAVE_TORCH = 1 ]; then
    TORCH_ID=$(cat "$WORK"/torch-onednn-*.log | sed -n 's/^library: //p' | head -n 1)
fi

# ---- 4. the swap scan against the naive one ------------------------------------------------
T_SWAP=$(now)
if [ "${BENCH_SWAP:-1}" = 1 ]; then
    say "4/4 swap scan with activation reuse against recomputing every pass (--no-reuse)"
    data=$WORK/swap-data
    rm -rf "$data"
    # 2 patients: the acdc preset's split leaves 1 for validation, 2 frames x SLICES slices.
    "$BIN" data synth --preset acdc --patients 2 --slices "${BENCH_SWAP_SLICES:-$d_slices}" \
        --size "$SIZE" --seed 1 -o "$data" > "$WORK/swap-data.log"
    for c in $SWAP_CONFIGS; do
        arch=$(arch_of "$c"); width=$(width_of "$c")
        "$BIN" init --arch "$arch" --width "$width" --seed 1 -o "$WORK/swap-$c-target.safetensors" > /dev/null
        "$BIN" init --arch "$arch" --width "$width" --seed 2 -o "$WORK/swap-$c-source.safetensors" > /dev/null
        # reuse, naive: the plain scan (no controls); full: both controls (init, random) and
        # --recalibrate (on the 1 training patient), with activation reuse
        for how in reuse naive full; do
            case $how in reuse) flag=--no-controls ;; naive) flag="--no-controls --no-reuse" ;;
                         full) flag=--recalibrate ;; esac
            t0=$(now)
            "$BIN" swap --target "$WORK/swap-$c-target.safetensors" --source "$WORK/swap-$c-source.safetensors" \
                --data "$data" --size "$SIZE" --batch 8 --threads "$(max_threads)" --quiet $flag \
                -o "$WORK/swap-$c-$how.csv" > "$WORK/swap-$c-$how.log"
            since "$t0" > "$WORK/swap-$c-$how.wall"
        done
        l=$WORK/swap-$c-reuse.log; n=$WORK/swap-$c-naive.log
        slices=$(sed -n 's/^swap scan: .*, \([0-9]*\) val slices.*/\1/p' "$l")
        rows=$(sed -n 's/^wrote .* (\([0-9]*\) rows)$/\1/p' "$l")
        r=$(sed -n 's/.*swapped passes \([0-9.e+]*\) GMAC instead of \([0-9.e+]*\) .*/\1 \2/p' "$l")
        rt=$(sed -n 's/^time: swapped passes \([0-9.]*\) s; .* about \([0-9.]*\) s .*total \([0-9.]*\) s$/\1 \2 \3/p' "$l")
        nt=$(sed -n 's/.*every swapped pass from the input, .* in \([0-9.]*\) s (total \([0-9.]*\) s)$/\1 \2/p' "$n")
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$slices" "$rows" "$r" "$rt" "$nt" \
            "$(cat "$WORK/swap-$c-reuse.wall")" "$(cat "$WORK/swap-$c-naive.wall")" >> "$SWAPS"
        printf '%s\t%s\t%s\n' "$c" "$(cat "$WORK/swap-$c-reuse.wall")" \
            "$(cat "$WORK/swap-$c-full.wall")" >> "$WORK/swap-full.tsv"
        printf '  %-7s %s\n' "$c" "$(tail -n 2 "$l" | head -n 1)" >&2
    done
fi
S_SWAP=$(since "$T_SWAP")

# ---- 5. predictors: align, cka, transferability ---------------------------------------------
T_PRED=$(now)
rm -f "$PREDS"
if [ "${BENCH_PRED:-1}" = 1 ]; then
    say "5/5 predictors: weight matching of two PSPNets, CKA and LogME (one forward per model)"
    data=$WORK/pred-data
    rm -rf "$data"
    "$BIN" data synth --preset acdc --patients 2 --slices "${BENCH_SWAP_SLICES:-$d_slices}" \
        --size "$SIZE" --seed 1 -o "$data" > "$WORK/pred-data.log"
    t=$WORK/pred-target.safetensors; s=$WORK/pred-source.safetensors
    "$BIN" init --arch pspnet --seed 1 -o "$t" > /dev/null
    "$BIN" init --arch pspnet --seed 2 -o "$s" > /dev/null
    for what in align cka transferability; do
        case $what in
            align) args="align --target $t --source $s -o $WORK/pred-aligned.safetensors" ;;
            cka) args="cka --target $t --source $s --data $data --size $SIZE --pixels 1024 --threads $(max_threads) -o $WORK/pred-cka.csv" ;;
            transferability) args="transferability --source $t $s --data $data --size $SIZE --pixels 4096 --threads $(max_threads) -o $WORK/pred-scores.csv" ;;
        esac
        t0=$(now)
        # shellcheck disable=SC2086
        OMP_NUM_THREADS=$(max_threads) "$BIN" $args > "$WORK/pred-$what.log"
        el=$(since "$t0")
        printf '%s\t%s\n' "$what" "$el" >> "$PREDS"
        printf '  %-16s %s s\n' "$what" "$el" >&2
    done
fi
S_PRED=$(since "$T_PRED")

# ---- Open MPI: only when the MPI=1 build exists (bench/mpi.sh) ----------------------------------
MPI_MD=$WORK/mpi.md
rm -f "$MPI_MD"
if [ "${BENCH_MPI:-1}" != 0 ] && [ -x "${MPI_BIN:-build-mpi/reusenet}" ]; then
    say "Open MPI: 2 ranks x 1 thread against 1 rank x 2 threads, and the projection to N nodes"
    MPI_WORK=$WORK/mpi sh "$HERE/mpi.sh" > "$MPI_MD"
fi

# ---- RESULTS.md ----------------------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
tmp=$RESULTS.tmp
{
    echo "# reusenet benchmarks"
    echo
    [ "$QUICK" = 1 ] && { echo "**Quick mode (BENCH_QUICK=1): a smoke test of the harness, not a measurement.**"; echo; }
    echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') on $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1) ($(nproc 2>/dev/null || echo '?') cores)."
    echo "Batch $BATCH x 1 x $SIZE x $SIZE; $((ROUND_ITERS * ROUNDS)) timed iterations per configuration, in $ROUNDS round(s) of $ROUND_ITERS after $WARMUP warm-up; threads: $THREADS."
    echo
    echo '```'
    "$BIN" --version 2>&1 || echo "(reusenet --version failed: exit status $?)"
    for log in "$WORK"/reusenet-*.log; do sed -n 1p "$log"; break; done
    [ $HAVE_TORCH = 1 ] && echo "pytorch: $TORCH_ID"
    echo '```'
    echo
    if [ -n "${OMP_WAIT_POLICY:-}" ]; then
        echo "OMP_WAIT_POLICY=$OMP_WAIT_POLICY for every program."
    else
        echo "OMP_WAIT_POLICY: PASSIVE after GOMP_SPINCOUNT=10000 spins for reusenet and conv_bench (their default), unset for PyTorch (libgomp spins 300000 rounds)."
    fi
    [ -n "$KERNEL_NOTE" ] && echo "$KERNEL_NOTE"
    if grep -q "generic" "$WORK"/reusenet-*.log "$WORK/conv.md" || "$BIN" --version 2>/dev/null | grep -q '^warning:'; then
        echo
        echo "**Warning: the BLAS ran a generic kernel; see README, \"Choosing the BLAS\" (BLIS: set BLIS_ARCH_TYPE).**"
    fi
    # Only the load before the run says whether other programs were busy: at the end the
    # 1-minute average still counts the benchmark's own 2-thread processes.
    awk -v a="$LOAD_START" -v b="$LOAD_END" 'BEGIN { if (a + 0 > 0.5)
        printf "\n**Warning: load average %s at the start (%s at the end, the run itself included): other programs were using the CPU, so the times may not be reliable.**\n", a, b }'
    [ -n "$TORCH_NOTE" ] && { echo; echo "$TORCH_NOTE"; }
    awk -v threads="$THREADS" -v configs="$CONFIGS" -f "$HERE/results.awk" "$RUNS" "$WORK/conv.md"
    if [ -s "$SWAPS" ]; then
        echo
        echo "## Swap scan: activation reuse against recomputing every swapped pass"
        echo
        echo "Two freshly initialised models (seeds 1 and 2), a synthetic acdc dataset of 2 patients (1 in the validation split), $SIZE x $SIZE, batch 8, $(max_threads) threads. The naive scan (\`--no-reuse\`) runs a full forward from the input for every swap."
        echo
        echo "| model | slices | rows | swapped passes, reuse | swapped passes, naive | speed-up | scan total, reuse | scan total, naive | process wall, reuse / naive | the scan's own estimate of naive |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        awk -F'\t' '{ split($4, g, " "); split($5, r, " "); split($6, n, " ")
            name = $1 == "unet" ? "unet32" : $1; sub(/^unet/, "unet F=", name)
            printf "| %s | %s | %s | %.2f s (%s GMAC) | %.2f s (%s GMAC) | %.2fx | %.2f s | %.2f s | %s s / %s s | %.2f s |\n",
                name, $2, $3 - 1, r[1], g[1], n[1], g[2], (r[1] > 0 ? n[1] / r[1] : 0), r[3], n[2], $7, $8, r[2] }' "$SWAPS"
        echo
        echo "Rows: swaps (the baseline pass is not counted). The estimate is the one the scan prints (rows x its own baseline pass); the naive column is measured."
        echo
        echo "### Controls and recalibration against the plain scan (aim: at most 4x)"
        echo
        echo "| model | plain scan (reuse, no controls) | controls init + random and --recalibrate | ratio |"
        echo "|---|---:|---:|---:|"
        awk -F'\t' '{ name = $1 == "unet" ? "unet32" : $1; sub(/^unet/, "unet F=", name)
            printf "| %s | %s s | %s s | %.2fx |\n", name, $2, $3, ($2 > 0 ? $3 / $2 : 0) }' "$WORK/swap-full.tsv"
    fi
    if [ -s "$PREDS" ]; then
        echo
        echo "## Predictors: will a source help?"
        echo
        echo "PSPNets from seeds 1 and 2, a synthetic acdc dataset of 2 patients, $SIZE x $SIZE, $(max_threads) threads. align: weight matching of the 17 permutation groups; cka: 1024 validation pixels, one forward pass per model; transferability: LogME and LEEP of both models on 4096 class-balanced training pixels."
        echo
        echo "| command | wall time |"
        echo "|---|---:|"
        awk -F'\t' '{ printf "| %s | %s s |\n", $1, $2 }' "$PREDS"
    fi
    [ -s "$MPI_MD" ] && { echo; cat "$MPI_MD"; }
    echo
    cat "$WORK/conv.md"
    echo
    echo "## This run"
    echo
    echo "Conv layers ${S_CONV} s, training steps and forwards ${S_STEPS} s, swap scans ${S_SWAP} s, predictors ${S_PRED} s; total $(since "$T_START") s. Logs: \`$WORK/\`."
} > "$tmp"
mv "$tmp" "$RESULTS"
cat "$RESULTS"
echo "wrote $RESULTS" >&2
