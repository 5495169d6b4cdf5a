# CPU accounting the benchmark scripts share (sourced; clock ticks of `getconf CLK_TCK`).
# CPU of process PID so far: utime + stime
cpu_ticks() { local l; read -r l <"/proc/$1/stat"; local f=(${l##*) }); echo $((f[11] + f[12])); }
# CPU of the sourcing script's finished children (the load generator): cutime + cstime
child_ticks() { local l; read -r l <"/proc/$$/stat"; local f=(${l##*) }); echo $((f[13] + f[14])); }
# busy CPU of the whole machine: user nice system irq softirq steal
all_ticks() { local c u n s i w q sq st r; read -r c u n s i w q sq st r </proc/stat; echo $((u + n + s + q + sq + st)); }
