#!/bin/sh
# The Open MPI section of make bench (bench/run.sh runs it when the MPI=1 build exists;
# README "Past one machine: Open MPI"). For PSPNet and UNet F=64: a training step on one
# rank with 2 threads against 2 ranks with 1 thread each (the global batch split over
# them), the time spent summing gradients across the ranks per step, and a projection to
# N = 2..64 nodes over 10, 25 and 100 Gb/s links, from the measured step time and the
# gradient bytes, a ring all-reduce taking 2 (N-1)/N x bytes / bandwidth.
# Prints a Markdown section; writes the figure to $MPI_SVG (bench/mpi-scaling.svg).
#
# Settings (environment): MPI_BIN (build-mpi/reusenet), MPIRUN (mpirun --oversubscribe),
# MPI_CONFIGS ("pspnet unet64"), MPI_SIZE (128), MPI_BATCH (8), MPI_EPOCHS (2: the first
# is warm-up; each epoch is 2 steps), MPI_WORK (build/bench/mpi).
set -eu
BIN=${MPI_BIN:-build-mpi/reusenet}
MPIRUN=${MPIRUN:-mpirun --oversubscribe}
# Open MPI refuses to run as root unless told twice (as make test-mpi does)
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
CONFIGS=${MPI_CONFIGS:-"pspnet unet64"}
SIZE=${MPI_SIZE:-128}
BATCH=${MPI_BATCH:-8}
EPOCHS=${MPI_EPOCHS:-2}
WORK=${MPI_WORK:-build/bench/mpi}
SVG=${MPI_SVG:-bench/mpi-scaling.svg}
LOAD_START=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
rm -rf "$WORK"
mkdir -p "$WORK"
# 3 patients: 2 train (2 x 2 frames x 4 slices = 16 slices: 2 steps of 8), 1 validation
"$BIN" data synth --preset acdc --patients 3 --size "$SIZE" --slices 4 --seed 1 -o "$WORK/data" >&2
TSV=$WORK/steps.tsv          # config ranks threads step_s sum_s grad_bytes
: > "$TSV"
for cfg in $CONFIGS; do
    case $cfg in pspnet) arch="--arch pspnet" ;; unet*) arch="--arch unet --width ${cfg#unet}" ;; esac
    "$BIN" init $arch --seed 1 -o "$WORK/$cfg.safetensors" > /dev/null
    params=$("$BIN" info "$WORK/$cfg.safetensors" | sed -n 's/^parameters: \([0-9]*\) trainable.*/\1/p')
    for mode in "1 2" "2 1"; do
        set -- $mode
        run=$WORK/run-$cfg-$1x$2
        echo "== $cfg: $1 rank(s) x $2 thread(s)" >&2
        # --bind-to none: Open MPI binds each of 1 or 2 ranks to one core by default, which
        # would put a rank's 2 threads on one core
        # shellcheck disable=SC2086
        OMP_NUM_THREADS=$2 $MPIRUN --bind-to none -np "$1" "$BIN" train $arch --data "$WORK/data" --size "$SIZE" \
            --batch "$BATCH" --epochs "$EPOCHS" --lr 0.001 --train-count 2 --val-count 1 \
            --threads "$2" --quiet -o "$run" >&2
        # the last epoch (the first includes warm-up): 2 steps
        tail -n 1 "$run/times.csv" | awk -F, -v c="$cfg" -v r="$1" -v t="$2" -v p="$params" \
            '{ printf "%s\t%s\t%s\t%.3f\t%.4f\t%d\n", c, r, t, $2 / 2, $6 / 2, p * 4 }' >> "$TSV"
    done
done

echo "## Past one machine: Open MPI"
echo
echo "On this machine ($(nproc) cores, shared with other programs while measured: load average $LOAD_START at the start, so the times are indicative only), batch $BATCH x 1 x $SIZE x $SIZE split over the ranks, a training step from the last of $EPOCHS epochs of 2 steps (data preparation included), run $(date -u '+%Y-%m-%d %H:%M UTC')."
echo
echo "| model | ranks x threads | step | gradient sum per step | gradient bytes |"
echo "|---|---|---:|---:|---:|"
awk -F'\t' '{ name = $1; sub(/^unet/, "unet F=", name)
    printf "| %s | %s x %s | %.2f s | %.3f s | %.1f MB |\n", name, $2, $3, $4, $5, $6 / 1e6 }' "$TSV"
echo
echo "Projection to N nodes, each as fast as this machine on a whole step (1 rank x 2 threads): the global batch kept at $BATCH per node (weak scaling), step = compute + ring all-reduce 2 (N-1)/N x bytes / bandwidth; efficiency = compute / step. A model stops scaling where the all-reduce costs as much as the compute (efficiency 50 %); past that, adding nodes adds images per second at less than half their worth."
echo
awk -F'\t' -v svg="$SVG" '
$2 == 1 { name[++m] = $1; comp[m] = $4; bytes[m] = $6 }
END {
    nl = split("10 25 100", gbps, " ")
    printf "| N |"; for (i = 1; i <= m; i++) for (l = 1; l <= nl; l++) { nm = name[i]; sub(/^unet/, "unet F=", nm); printf " %s %s Gb/s |", nm, gbps[l] }
    printf "\n|---:|"; for (i = 1; i <= m * nl; i++) printf "---:|"; printf "\n"
    for (n = 2; n <= 64; n *= 2) {
        printf "| %d |", n
        for (i = 1; i <= m; i++) for (l = 1; l <= nl; l++) {
            t = 2 * (n - 1) / n * bytes[i] * 8 / (gbps[l] * 1e9)
            printf " %.0f %% (%.2f s) |", 100 * comp[i] / (comp[i] + t), t
        }
        printf "\n"
    }
    printf "\nEach cell: efficiency (all-reduce time per step). The all-reduce time hardly grows with N (2 (N-1)/N tends to 2), so with a fixed batch per node a model that scales to 4 nodes scales to 64, and one that does not, does not: "
    for (i = 1; i <= m; i++) for (l = 1; l <= nl; l++) {
        t = 2 * bytes[i] * 8 / (gbps[l] * 1e9); nm = name[i]; sub(/^unet/, "unet F=", nm)
        printf "%s at %s Gb/s %s; ", nm, gbps[l], t < comp[i] ? "keeps above 50 %" : "falls below 50 %"
    }
    printf "with the global batch fixed at 8 instead (strong scaling) each node computes 8/N images and the all-reduce dominates once compute/N falls below it: "
    for (i = 1; i <= m; i++) for (l = 1; l <= nl; l++) {
        nm = name[i]; sub(/^unet/, "unet F=", nm); stop = 0
        for (n = 2; n <= 8; n++) { t = 2 * (n - 1) / n * bytes[i] * 8 / (gbps[l] * 1e9); if (!stop && t > comp[i] / n) stop = n }
        printf "%s at %s Gb/s %s%s", nm, gbps[l], stop ? "stops at N = " stop : "scales to N = 8 (1 image a node)", (i == m && l == nl) ? ".\n" : "; "
    }
    # figure: efficiency against N (log2), one line per model and link
    W = 640; H = 360; L = 60; R = 200; T = 20; B = 50
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H > svg
    printf "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H > svg
    for (e = 0; e <= 100; e += 25) { y = T + (H - T - B) * (1 - e / 100)
        printf "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d %%</text>\n", L, W - R, y, y, L - 6, y + 4, e > svg }
    for (k = 1; k <= 6; k++) { x = L + (W - L - R) * (k - 1) / 5
        printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", x, H - B + 16, 2 ^ k > svg }
    printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">nodes N (batch %s per node)</text>\n", L + (W - L - R) / 2, H - 12, 8 > svg
    split("#1f77b4 #d62728", color, " "); split("6,4 3,3 none", dash, " ")
    for (i = 1; i <= m; i++) for (l = 1; l <= nl; l++) {
        pts = ""
        for (k = 1; k <= 6; k++) { n = 2 ^ k; t = 2 * (n - 1) / n * bytes[i] * 8 / (gbps[l] * 1e9)
            pts = pts sprintf("%.1f,%.1f ", L + (W - L - R) * (k - 1) / 5, T + (H - T - B) * (1 - comp[i] / (comp[i] + t))) }
        printf "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"%s\" points=\"%s\"/>\n", color[i], dash[l], pts > svg
        nm = name[i]; sub(/^unet/, "unet F=", nm); ly = T + 10 + 18 * ((i - 1) * nl + l - 1)
        printf "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"%s\"/><text x=\"%d\" y=\"%d\">%s, %s Gb/s</text>\n", W - R + 10, W - R + 40, ly, ly, color[i], dash[l], W - R + 46, ly + 4, nm, gbps[l] > svg
    }
    printf "</svg>\n" > svg
}' "$TSV"
echo
echo "![efficiency against nodes]($(basename "$SVG"))"
