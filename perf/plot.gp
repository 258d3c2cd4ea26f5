# perf/plot.gp: the bench plot, bench.png and bench.svg: one panel per
# workload, one bar group per row (kernel, workload), one bar per path
# (median, whiskers min-max), log scale. perf/bench.sh runs it with
#   gnuplot -e "out='DIR/bench'" -e "n=PANELS" \
#           -e "data_1='DIR/plot-compute.dat'" -e "title_1='compute'" \
#           -e "ylabel_1='cycles per kernel run'" ... perf/plot.gp
# Data files: name, then median min max for native, qemu, tpvm-bt,
# tpvm-pv ("-" where a path has no value), as report.awk writes them.
labels = "native QEMU BT PV"
colors = "#7f7f7f #2ca02c #1f77b4 #ff7f0e"

set encoding utf8
set datafile missing "-"
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border -1
set logscale y
set format y "%.0s%c"
set grid ytics
set key outside right top vertical
set xtics nomirror rotate by -25
set tmargin 2

do for [fmt in "png svg"] {
    if (fmt eq "png") {
        set terminal pngcairo noenhanced size 1100, 340 * n font "sans,10"
    } else {
        set terminal svg noenhanced size 1100, 340 * n dynamic font "sans,10"
    }
    set output out . "." . fmt
    set multiplot layout n, 1
    do for [i = 1:n] {
        set title value("title_" . i) . ": " . value("ylabel_" . i) . " by path (median, whiskers min-max; log scale, lower is faster)"
        set ylabel value("ylabel_" . i)
        plot for [p = 0:3] value("data_" . i) \
            using (column(2 + 3 * p)):(column(3 + 3 * p)):(column(4 + 3 * p)):xtic(1) \
            title word(labels, p + 1) lc rgb word(colors, p + 1)
    }
    unset multiplot
    set output
}
