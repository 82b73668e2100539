#!/bin/sh
# Two builds of reusenet timed against each other: `reusenet bench train-step` (forward,
# cross-entropy, backward, SGD momentum update) for each model, kernel and thread count,
# the two binaries alternating within every round so that load from other programs hits
# both alike. Prints one Markdown table: median ms per step of each build, pooled over the
# rounds, and after / before.
#
#   sh bench/before_after.sh BEFORE_BIN AFTER_BIN
#
# Settings (environment): BA_KERNELS ("default Haswell": OPENBLAS_CORETYPE for each row,
# "default" leaving it unset), BA_CONFIGS ("pspnet unet32 unet64"), BA_THREADS (2),
# BA_ROUNDS (3), BA_ITERS (timed steps per round, 4), BA_WARMUP (2), BA_SIZE (128),
# BA_BATCH (8), BA_BEFORE_LABEL and BA_AFTER_LABEL (what the header calls the builds).
set -eu

[ $# = 2 ] || { echo "usage: sh bench/before_after.sh BEFORE_BIN AFTER_BIN" >&2; exit 2; }
BEFORE=$1 AFTER=$2
for b in "$BEFORE" "$AFTER"; do
    [ -x "$b" ] || { echo "before_after: $b is not an executable" >&2; exit 2; }
done
KERNELS=${BA_KERNELS:-"default Haswell"}
CONFIGS=${BA_CONFIGS:-"pspnet unet32 unet64"}
THREADS=${BA_THREADS:-2}
ROUNDS=${BA_ROUNDS:-3}
ITERS=${BA_ITERS:-4}
WARMUP=${BA_WARMUP:-2}
SIZE=${BA_SIZE:-128}
BATCH=${BA_BATCH:-8}
SAMPLES=$(mktemp)
trap 'rm -f "$SAMPLES"' EXIT

# One process: its timed steps appended to $SAMPLES as "kernel config threads which ms".
run() {   # kernel config threads which binary
    case $2 in pspnet) set -- "$@" --arch pspnet ;; *) set -- "$@" --arch unet --width "${2#unet}" ;; esac
    k=$1 c=$2 t=$3 w=$4 b=$5
    shift 5
    if [ "$k" = default ]; then env -u OPENBLAS_CORETYPE "$b" bench train-step "$@" \
        --threads "$t" --batch "$BATCH" --size "$SIZE" --iters "$ITERS" --warmup "$WARMUP"
    else OPENBLAS_CORETYPE=$k "$b" bench train-step "$@" \
        --threads "$t" --batch "$BATCH" --size "$SIZE" --iters "$ITERS" --warmup "$WARMUP"
    fi 2>&1 | sed -n "s/^  run [0-9]*: \([0-9.]*\) ms$/$k $c $t $w \1/p" >> "$SAMPLES"
}

for r in $(seq "$ROUNDS"); do
    for k in $KERNELS; do for c in $CONFIGS; do for t in $THREADS; do
        echo "before_after: round $r/$ROUNDS, kernel $k, $c, $t threads" >&2
        # which build goes first alternates with the round
        if [ $((r % 2)) = 1 ]; then run "$k" "$c" "$t" before "$BEFORE"; run "$k" "$c" "$t" after "$AFTER"
        else run "$k" "$c" "$t" after "$AFTER"; run "$k" "$c" "$t" before "$BEFORE"; fi
    done; done; done
done

kernel_of() {   # the kernel a binary reports for a kernel row
    if [ "$1" = default ]; then env -u OPENBLAS_CORETYPE "$2" --version
    else OPENBLAS_CORETYPE=$1 "$2" --version; fi 2>/dev/null | sed -n 's/^blas: .*kernel \([A-Za-z0-9]*\).*/\1/p'
}
echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores);"
echo "reusenet bench train-step, batch $BATCH x 1 x $SIZE x $SIZE, $ROUNDS rounds of $ITERS timed steps after $WARMUP warm-up per build;"
echo "median over the pooled steps. before: ${BA_BEFORE_LABEL:-$BEFORE}, after: ${BA_AFTER_LABEL:-$AFTER}."
echo
echo "| kernel | model | threads | before ms | after ms | after / before |"
echo "|---|---|---:|---:|---:|---:|"
for k in $KERNELS; do for c in $CONFIGS; do for t in $THREADS; do
    median() { awk -v k="$k" -v c="$c" -v t="$t" -v w="$1" '$1 == k && $2 == c && $3 == t && $4 == w { print $5 }' "$SAMPLES" \
        | sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
    b=$(median before) a=$(median after)
    awk -v k="$k ($(kernel_of "$k" "$AFTER"))" -v c="$c" -v t="$t" -v b="$b" -v a="$a" \
        'BEGIN { printf "| %s | %s | %d | %.1f | %.1f | %.3f |\n", k, c, t, b, a, a / b }'
done; done; done
