# study.gp - draws a study's plots from the data files `attndrop study`
# writes in DIR/plots (every block begins with a header line whose first
# field is the series' title). attndrop copies this script there and runs
#   gnuplot -c DIR/plots/study.gp DIR MARGIN "name:letters name:letters ..." [PNGDIR/]
# (a name and its letters come from attndrop: [a-z0-9-] only), where the letters say which plots a setting has data for: c learning
# curves, f forest plot of the paired effects, e per-position effects,
# z all-zero attention rows, d the paired differences against the step (settings trained for it); and for an axis of the scaling grid (name context,
# heads or layers) s, its comparisons against the axis. The PNGs go to PNGDIR (default DIR/plots/):
# attndrop has them drawn into a temporary folder, checks each one is whole,
# then renames them into DIR/plots, so a failed or cut drawing never replaces
# a good plot.
dir = ARG1
margin = real(ARG2)
list = ARG3
png = ARGC >= 4 ? ARG4 : dir.'/plots/'
colors = "#1b9e77 #d95f02 #7570b3 #e7298a #66a61e #e6ab02 #a6761d #1f78b4"
set datafile missing '?'
set key autotitle columnheader
set grid
set key outside right top noenhanced

do for [w = 1:words(list)] {
    item = word(list, w)
    k = strstrt(item, ':')
    name = item[1:k-1]
    flags = item[k+1:]
    base = dir.'/plots/'.name

    if (strstrt(flags, 'c') > 0) {
        # learning curves: none (block 0) in every panel, then at most 7 others
        stats base.'.curves.dat' using 1 nooutput
        nb = STATS_blocks
        panels = nb > 1 ? (nb - 2) / 7 + 1 : 1
        set terminal pngcairo size 1000, 60 + 360 * panels font ',10' noenhanced
        set output png.'curves_'.name.'.png'
        set multiplot layout panels, 1 title 'val loss against step, '.name.' (mean over seeds, 95% band)'
        set xlabel 'step'
        set ylabel 'val loss'
        do for [pn = 0:panels - 1] {
            lo = 1 + 7 * pn
            hi = lo + 6 < nb - 1 ? lo + 6 : nb - 1
            # step 0 (the untrained loss) is left out, so that the differences at the end show
            plot base.'.curves.dat' index 0 using 1:($1 > 0 ? $3 : 1/0):4 with filledcurves fs transparent solid 0.08 lc rgb '#000000' notitle, \
                 '' index 0 using 1:($1 > 0 ? $2 : 1/0) with lines lw 2 lc rgb '#000000' dt 1 title columnheader(1), \
                 for [i = lo:hi] '' index i using 1:($1 > 0 ? $3 : 1/0):4 with filledcurves fs transparent solid 0.10 lc rgb word(colors, i - lo + 1) notitle, \
                 for [i = lo:hi] '' index i using 1:($1 > 0 ? $2 : 1/0) with lines lw 2 lc rgb word(colors, i - lo + 1) dt i - lo + 1 title columnheader(1)
        }
        unset multiplot
        set output
    }

    if (strstrt(flags, 'f') > 0) {
        # forest plot: each paired effect with its 95% interval, the margin shaded
        stats base.'.forest.dat' using 2 nooutput
        n = STATS_records
        set terminal pngcairo size 1000, 140 + 26 * n font ',10' noenhanced
        set output png.'forest_'.name.'.png'
        set title 'paired effect on the final val loss, '.name.' (mean over seeds, 95% interval; shaded: within the margin)'
        set xlabel 'difference in val loss (nats); below 0: lower loss than the baseline'
        unset ylabel
        set yrange [-1:n] reverse
        set ytics scale 0
        set object 1 rect from -margin, graph 0 to margin, graph 1 fc rgb '#d9d9d9' fs solid 0.6 noborder behind
        set arrow 1 from 0, graph 0 to 0, graph 1 nohead lc rgb '#555555'
        plot base.'.forest.dat' using 2:0:3:4:ytic(1) with xerrorbars pt 7 ps 1 lc rgb '#1b9e77' notitle
        unset object 1
        unset arrow 1
        set yrange [*:*] noreverse
        set ytics scale default
        set autoscale
        unset title
        set output
    }

    if (strstrt(flags, 'e') > 0) {
        # per-position paired effects with their 95% bands
        stats base.'.poseff.dat' using 1 nooutput
        nb = STATS_blocks
        set terminal pngcairo size 1000, 520 font ',10' noenhanced
        set output png.'position_effects_'.name.'.png'
        set title 'paired effect on the final val loss per position, '.name.' (95% band)'
        set xlabel 'position'
        set ylabel 'difference in val loss (nats)'
        set arrow 1 from graph 0, first 0 to graph 1, first 0 nohead lc rgb '#555555'
        plot for [i = 0:nb - 1] base.'.poseff.dat' index i using 1:3:4 with filledcurves fs transparent solid 0.15 lc rgb word(colors, i + 1) notitle, \
             for [i = 0:nb - 1] '' index i using 1:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb word(colors, i + 1) dt i + 1 title columnheader(1)
        unset arrow 1
        unset title
        set output
    }

    if (strstrt(flags, 'd') > 0) {
        # the paired differences against the step (the settings trained for it), each with its 95% band;
        # shaded: within the margin
        stats base.'.steps.dat' using 1 nooutput
        nb = STATS_blocks
        set terminal pngcairo size 1000, 520 font ',10' noenhanced
        set output png.'steps_'.name.'.png'
        set title 'paired difference in val loss against the step, '.name.' (mean over seeds, 95% band; shaded: within the margin)'
        set xlabel 'step'
        set ylabel 'difference in val loss (nats)'
        set object 1 rect from graph 0, first -margin to graph 1, first margin fc rgb '#d9d9d9' fs solid 0.6 noborder behind
        set arrow 1 from graph 0, first 0 to graph 1, first 0 nohead lc rgb '#555555'
        plot for [i = 0:nb - 1] base.'.steps.dat' index i using 1:3:4 with filledcurves fs transparent solid 0.15 lc rgb word(colors, i + 1) notitle, \
             for [i = 0:nb - 1] '' index i using 1:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb word(colors, i + 1) dt i + 1 title columnheader(1)
        unset object 1
        unset arrow 1
        unset title
        set output
    }

    if (strstrt(flags, 'z') > 0) {
        # all-zero rows met in training (points) against the exact rate (lines)
        stats base.'.zero.dat' using 1 nooutput
        nb = STATS_blocks
        set terminal pngcairo size 1000, 520 font ',10' noenhanced
        set output png.'zero_rows_'.name.'.png'
        set title 'all-zero attention rows met in training, '.name.': observed (points), exact (lines)'
        set xlabel 'position'
        set ylabel 'rate per row and head'
        set logscale y
        set yrange [1e-8:1.5]
        set format y '%.0e'
        plot for [i = 0:nb - 1] base.'.zero.dat' index i using 1:2 with points pt 7 lc rgb word(colors, i + 1) title columnheader(1), \
             for [i = 0:nb - 1] '' index i using 1:3 with lines lw 1 lc rgb word(colors, i + 1) notitle
        unset logscale y
        set yrange [*:*]
        set format y '% h'
        unset title
        set output
    }

    if (strstrt(flags, 's') > 0) {
        # the scaling grid along one axis: 4 panels (p=0.2 whole sequence, p=0.2 positions 0-3, p=0.5 whole,
        # p=0.5 positions 0-3); <name>.scale.idx gives each panel's first block, its comparison blocks (the
        # last column their colour) and whether a block with a fit follows them
        axis = name eq 'context' ? 'context length T' : name eq 'heads' ? 'heads H' : 'layers L'
        array LO[4]
        array NC[4]
        array HF[4]
        do for [pn = 1:4] {
            row = pn - 1
            stats base.'.scale.idx' every ::row::row using 1 nooutput
            LO[pn] = int(STATS_min)
            stats base.'.scale.idx' every ::row::row using 2 nooutput
            NC[pn] = int(STATS_min)
            stats base.'.scale.idx' every ::row::row using 3 nooutput
            HF[pn] = int(STATS_min)
        }
        set terminal pngcairo size 1200, 900 font ',10' noenhanced
        set output png.'scale_'.name.'.png'
        set multiplot layout 2, 2 title 'paired effect on the final val loss against '.axis.' (mean over seeds, 95% interval; shaded: within the margin)'
        set logscale x 2
        if (name eq 'context') { set xtics (32, 64, 128, 256); set xrange [26:315] } else { set xtics (1, 2, 4, 6); set xrange [0.85:7] }
        set xlabel axis
        set ylabel 'difference in val loss (nats)'
        set key below
        set object 1 rect from graph 0, first -margin to graph 1, first margin fc rgb '#d9d9d9' fs solid 0.6 noborder behind
        set arrow 1 from graph 0, first 0 to graph 1, first 0 nohead lc rgb '#555555'
        do for [pn = 0:3] {
            lo = LO[pn + 1]
            n = NC[pn + 1]
            hf = HF[pn + 1]
            set title (pn < 2 ? 'p=0.2' : 'p=0.5').(pn % 2 == 0 ? ', whole sequence' : ', positions 0-3')
            if (n == 0) {
                set multiplot next
            } else {
                if (hf) {
                    plot for [i = lo:lo + n - 1] base.'.scale.dat' index i using 1:2:3:4:5 with yerrorbars pt 7 ps 0.8 lc rgb variable title columnheader(1), \
                         for [i = lo:lo + n - 1] '' index i using 1:2:5 with lines lw 1 lc rgb variable notitle, \
                         '' index lo + n using 1:2 with lines lw 2 dt 2 lc rgb '#000000' title columnheader(1)
                } else {
                    plot for [i = lo:lo + n - 1] base.'.scale.dat' index i using 1:2:3:4:5 with yerrorbars pt 7 ps 0.8 lc rgb variable title columnheader(1), \
                         for [i = lo:lo + n - 1] '' index i using 1:2:5 with lines lw 1 lc rgb variable notitle
                }
            }
        }
        unset multiplot
        unset object 1
        unset arrow 1
        unset logscale x
        set xtics autofreq
        set xrange [*:*]
        unset title
        set key outside right top noenhanced
        set output
    }
}
