# The Markdown tables of `make bench` (bench/run.sh) for the training steps and forwards:
# time and peak memory of reusenet against PyTorch, and thread scaling, with the targets of
# the "Performance" issue marked pass / FAIL.
#
# Input: run.sh's runs.tsv, one row per process:
#   tool (reusenet, torch-onednn, torch-im2col)  mode (train-step, forward)  config
#   (pspnet, unet32, ...)  threads  median_ms  min_ms  max_ms  peak_rss_mib  baseline_mib
# (median "failed" when the run failed). Variables: threads="1 2", configs="pspnet unet32".
# A second input file, conv_bench's output (conv.md), adds its layer count to the summary.
# Output: "Targets" (pass counts per target), then the tables.
#
# Targets: at 2 threads, reusenet / PyTorch oneDNN <= 1.0 (unet) or <= 1.3 (pspnet) and
# reusenet / PyTorch im2col + BLAS <= 0.5, training step and forward; peak memory of a
# training step <= PyTorch's (oneDNN); training step 1 -> 2 threads at least 1.7x faster.

BEGIN {
    FS = "\t"
    nt = split(threads, T, " ")
    nc = split(configs, C, " ")
    lo = hi = T[1]
    for (i = 2; i <= nt; i++) {
        if (T[i] + 0 < lo + 0) lo = T[i]
        if (T[i] + 0 > hi + 0) hi = T[i]
    }
    M[1] = "train-step"; M[2] = "forward"
}

# conv_bench's Markdown (second input, optional): its summary rows end in "| P of B |".
FILENAME ~ /conv\.md$/ {
    if ($0 ~ /^### Summary/) in_summary = 1
    else if (in_summary && match($0, /\| [0-9]+ of [0-9]+ \|$/)) {
        split(substr($0, RSTART + 2), pb, " ")
        conv_pass += pb[1]; conv_big += pb[3]
    }
    next
}

{
    k = $1 SUBSEP $2 SUBSEP $3 SUBSEP $4
    med[k] = $5; mn[k] = $6; mx[k] = $7; rss[k] = $8; base[k] = $9
    if ($1 ~ /^torch/) torch = 1
}

function key(tool, mode, c, t) { return tool SUBSEP mode SUBSEP c SUBSEP t }
function ok(k) { return (k in med) && med[k] != "failed" }
function show_ms(k) {
    if (!(k in med)) return "-"
    if (med[k] == "failed") return "failed"
    return sprintf("%.1f [%.1f-%.1f]", med[k] + 1e-9, mn[k], mx[k])   # 9.95 shows as 10.0, as min
}
function show_mib(k) { return ok(k) ? sprintf("%.0f", rss[k]) : "-" }
# a / b of the medians (or of the peak memory), -1 when either is missing
function ratio(a, b) { return ok(a) && ok(b) && med[b] > 0 ? med[a] / med[b] : -1 }
function mem_ratio(a, b) { return ok(a) && ok(b) && rss[b] > 0 ? rss[a] / rss[b] : -1 }
function show_ratio(r) { return r < 0 ? "-" : sprintf("%.2f", r) }
# The verdict on ratio r against its limit, counted under target `what`.
function verdict(what, r, limit, applies, at_least) {
    if (!applies || r < 0) return "-"
    checked[what]++
    good = at_least ? r >= limit : r <= limit
    passed[what] += good
    return (good ? "pass" : "**FAIL**") sprintf(at_least ? " (>= %.1f)" : " (<= %.1f)", limit)
}
function at_most(what, r, limit, applies) { return verdict(what, r, limit, applies, 0) }
function emit(line) { out = out line "\n" }
function summary(what, text) {
    if (checked[what]) printf "- %s: %d of %d pass\n", text, passed[what], checked[what]
    else printf "- %s: not measured\n", text
}
function name(c) {
    if (c == "unet") return "unet F=32"
    return c ~ /^unet/ ? "unet F=" substr(c, 5) : c
}

END {
    emit("")
    emit("## Training step and eval forward: reusenet against PyTorch")
    emit("")
    emit("Milliseconds per batch: median [min-max] over the timed iterations, each configuration in its own process, once per round, the rounds' iterations pooled (a burst of load from other programs then hits a few samples of many configurations, not all of one). A training step is forward, cross-entropy, backward and an SGD momentum update; an eval forward runs without gradients. Ratio = reusenet / PyTorch (below 1: reusenet is faster). Targets apply at 2 threads: against PyTorch's default oneDNN path <= 1.0 for UNet and <= 1.3 for PSPNet, against PyTorch's im2col + BLAS path (`torch.backends.mkldnn.enabled = False`) <= 0.5.")
    emit("")
    emit("| model | step | threads | reusenet ms | PyTorch oneDNN ms | ratio | target | PyTorch im2col ms | ratio | target |")
    emit("|---|---|---:|---:|---:|---:|---|---:|---:|---|")
    for (ci = 1; ci <= nc; ci++)
        for (mi = 1; mi <= 2; mi++)
            for (ti = 1; ti <= nt; ti++) {
                c = C[ci]; m = M[mi]; t = T[ti]
                r = key("reusenet", m, c, t); o = key("torch-onednn", m, c, t); i2 = key("torch-im2col", m, c, t)
                ro = ratio(r, o); ri = ratio(r, i2)
                emit(sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", name(c), m, t,
                     show_ms(r), show_ms(o), show_ratio(ro), at_most("onednn", ro, c == "pspnet" ? 1.3 : 1.0, t == 2),
                     show_ms(i2), show_ratio(ri), at_most("im2col", ri, 0.5, t == 2)))
            }

    emit("")
    emit("## Peak memory")
    emit("")
    emit("Peak resident set size (getrusage) of each configuration's process, MiB. PyTorch's includes the library itself (\"after import\"). Target: a reusenet training step <= PyTorch's (oneDNN).")
    emit("")
    emit("| model | step | threads | reusenet MiB | PyTorch oneDNN MiB | ratio | target | PyTorch im2col MiB | ratio | PyTorch after import MiB |")
    emit("|---|---|---:|---:|---:|---:|---|---:|---:|---:|")
    for (ci = 1; ci <= nc; ci++)
        for (mi = 1; mi <= 2; mi++)
            for (ti = 1; ti <= nt; ti++) {
                c = C[ci]; m = M[mi]; t = T[ti]
                r = key("reusenet", m, c, t); o = key("torch-onednn", m, c, t); i2 = key("torch-im2col", m, c, t)
                mo = mem_ratio(r, o)
                emit(sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", name(c), m, t,
                     show_mib(r), show_mib(o), show_ratio(mo), at_most("memory", mo, 1.0, m == "train-step"),
                     show_mib(i2), show_ratio(mem_ratio(r, i2)), ok(o) ? base[o] : "-"))
            }

    if (lo != hi) scaling_table()
    print ""
    print "## Targets"
    print ""
    summary("onednn", "time at 2 threads, reusenet / PyTorch oneDNN <= 1.0 (UNet) or 1.3 (PSPNet)")
    summary("im2col", "time at 2 threads, reusenet / PyTorch im2col + BLAS <= 0.5")
    summary("memory", "peak memory of a training step <= PyTorch's")
    summary("scaling", "training step 2 threads >= 1.7x faster than 1")
    if (conv_big) printf "- conv layers >= 50 MFLOP per image at >= 80%% of the sgemm ceiling, forward and backward: %d of %d (layer x thread count) pass\n", conv_pass, conv_big
    else print "- conv layers >= 50 MFLOP per image at >= 80% of the sgemm ceiling: not measured"
    printf "%s", out
}

function scaling_table() {
    emit("")
    emit(sprintf("## Thread scaling: %s -> %s threads", lo, hi))
    emit("")
    emit(sprintf("Speed-up = median at %s threads / median at %s threads. Target: a reusenet training step at least 1.7x faster on 2 threads than on 1.", lo, hi))
    emit("")
    emit("| model | step | reusenet ms, " lo " | reusenet ms, " hi " | speed-up | target | PyTorch oneDNN speed-up | PyTorch im2col speed-up |")
    emit("|---|---|---:|---:|---:|---|---:|---:|")
    for (ci = 1; ci <= nc; ci++)
        for (mi = 1; mi <= 2; mi++) {
            c = C[ci]; m = M[mi]
            s = ratio(key("reusenet", m, c, lo), key("reusenet", m, c, hi))
            v = verdict("scaling", s, 1.7, m == "train-step" && lo == 1 && hi == 2, 1)
            emit(sprintf("| %s | %s | %s | %s | %s | %s | %s | %s |", name(c), m,
                 show_ms(key("reusenet", m, c, lo)), show_ms(key("reusenet", m, c, hi)), show_ratio(s), v,
                 show_ratio(ratio(key("torch-onednn", m, c, lo), key("torch-onednn", m, c, hi))),
                 show_ratio(ratio(key("torch-im2col", m, c, lo), key("torch-im2col", m, c, hi)))))
        }
}
