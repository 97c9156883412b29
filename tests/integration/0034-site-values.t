#!/bin/bash
# Values of site profiles that the batch systems would read otherwise
# than meant, or refuse: each is caught, or rendered, before anything is
# submitted.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER (run make BUILD=... all)"
unset PBS_ACCOUNT SLURM_ACCOUNT

# --- walltime: a unit or a colon form ---------------------------------------
#
# PBS reads a bare "30" as seconds, Slurm as minutes; neither is assumed.

t_run "$CLUSTER" --profile generic-slurm --set job.walltime=30 config show
t_is "$T_RC:$T_ERR" "1:cluster: --set job.walltime: invalid value '30' for 'job.walltime': a number without a unit is ambiguous (seconds to PBS, minutes to Slurm); write a unit, as in 30m, 2h or 90s, or the colon form 00:30:00" \
	"a bare-number walltime on --set is refused, naming the key and the forms"
printf 'job:\n  walltime: 45\n' >"$T_DIR/bare.yaml"
t_run "$CLUSTER" config check "$T_DIR/bare.yaml"
t_like "$T_ERR" "bare.yaml:2:13: invalid value '45' for 'job.walltime': a number without a unit" \
	"a bare-number walltime in a file is refused at its line and column"
for w in 30m 00:30:00 1800s 0.5h 30:00; do
	t_run "$CLUSTER" --profile generic-slurm --set job.walltime=$w job-script --role worker
	t_like "$T_OUT" $'\n#SBATCH --time=00:30:00\n' "walltime $w is half an hour"
done
t_run "$CLUSTER" --set worker.heartbeat=5 config show
t_like "$T_ERR" "invalid value '5' for 'worker.heartbeat': a number without a unit" \
	"so is any other duration without a unit"

# --- which profile `auto` picks, by NCAR's real host names ------------------
#
# A UTS namespace of its own gives `cluster` the host name to try.

# auto_on HOST: the profile auto picks when this host is called HOST.
auto_on() {
	unshare --uts sh -c 'hostname "$1" && exec "$2" config show' sh "$1" "$CLUSTER" |
		sed -n 's/^# profile \([^:]*\): auto: .*/\1/p'
}

if ! unshare --uts true 2>/dev/null; then
	t_skip "auto by host name" "no UTS namespace here (needs root)"
else
	for pair in derecho1:derecho derecho8:derecho DERECHO3:derecho \
		dec0001.hsn.de.hpc.ucar.edu:derecho Dec2488.HSN.de.hpc.ucar.edu:derecho \
		casper-login1:casper Casper-Login2:casper casper27:casper \
		crhtc12:casper CRHTC05:casper \
		dec0001:derecho dec2488:derecho \
		december:local decade:local dec12:local derechos:local \
		crhtc:local laptop:local; do
		t_is "$(auto_on "${pair%%:*}")" "${pair#*:}" "auto on '${pair%%:*}' picks ${pair#*:}"
	done
fi

# --- PBS job names ----------------------------------------------------------
#
# PBS takes a letter, then letters, digits, '-', '_' and '+', at most 230
# characters; qsub refuses anything else.  Slurm takes any word.

rule="PBS takes at most 230 letters, digits, '-', '_' and '+', starting with a letter"
long=a$(printf '%0230d' 0)
for profile in derecho torque; do
	for bad in my.job 1st-job "$long" job@host job=x a/b; do
		t_run "$CLUSTER" --profile "$profile" --set job.name="$bad" job-script --role worker
		shown=$bad
		[ "${#bad}" -le 40 ] || shown=${bad:0:40}...
		t_is "$T_RC:$T_ERR" "1:cluster: job.name = '$shown' is not a PBS job name: $rule" \
			"$profile: job name '${bad:0:20}' is refused, saying the rule"
	done
	for good in dask-worker_1+x "${long:0:230}" J; do
		t_run "$CLUSTER" --profile "$profile" --set job.name="$good" job-script --role worker
		t_check "$profile: job name '${good:0:20}' is taken" \
			grep -qxF "#PBS -N $good" <<<"$T_OUT"
	done
done
t_run "$CLUSTER" --profile generic-slurm --set job.name=my.job job-script --role worker
t_like "$T_OUT" $'\n#SBATCH --job-name=my.job\n' "Slurm takes a job name with a dot"

# --- Derecho's priorities ----------------------------------------------------

for prio in regular premium economy; do
	t_run "$CLUSTER" --profile derecho --set job.priority=$prio job-script --role worker
	t_like "$T_OUT" $'\n#PBS -l job_priority='$prio$'\n' "derecho takes job_priority=$prio"
done
t_run "$CLUSTER" --profile derecho --set job.priority=high job-script --role worker
t_is "$T_RC:$T_ERR" "1:cluster: job.priority = 'high' is not one of regular, premium, economy (job.priorities of profile derecho)" \
	"derecho refuses a priority its server does not know"
t_run "$CLUSTER" --profile generic-pbs --set job.priority=high job-script --role worker
t_like "$T_OUT" $'\n#PBS -l job_priority=high\n' "a profile without job.priorities takes any word"

# --- the GPU model, inside the chunk ------------------------------------------

t_run "$CLUSTER" --profile casper-gpu job-script --role worker
t_like "$T_OUT" $'\n#PBS -l select=1:ncpus=4:mpiprocs=1:ompthreads=4:ngpus=1:gpu_type=a100:mem=38147MB\n' \
	"casper-gpu asks for the GPU model inside the select chunk, before mem="
t_unlike "$T_OUT" $'\n#PBS -l gpu_type' "and not job-wide"
t_run "$CLUSTER" --profile generic-slurm --set job.gpus=2 --set job.gpu-type=a100 job-script --role worker
t_like "$T_OUT" $'\n#SBATCH --gres=gpu:a100:2\n' "Slurm names the model in --gres"
t_run "$CLUSTER" --profile casper --set job.gpu-type=a100 job-script --role worker
t_is "$T_RC:$T_ERR" "1:cluster: job.gpu-type = 'a100' names a GPU model but job.gpus is 0; set job.gpus too" \
	"a GPU model without GPUs is refused"

# --- memory kept beside the workers -------------------------------------------
#
# The job asks for job.memory; each worker's limit is what is left after
# job.reserved-memory, split between the node's workers.

t_run "$CLUSTER" --profile derecho config show
t_like "$T_OUT" $'\njob.reserved-memory += 1GiB \\(1073741824 bytes; 16 workers per node, 14.6 GiB each\\) +# ' \
	"config show gives derecho's reservation and what it leaves each worker"
t_run "$CLUSTER" --profile derecho job-script --role worker
t_like "$T_OUT" "mem=235GB" "the job still asks for all of job.memory"
t_like "$T_OUT" " --memory '$(((235 - 1) * 1073741824 / 16))'" \
	"each worker's limit is (235GiB - 1GiB) / 16"
t_run "$CLUSTER" --profile generic-slurm --set job.memory=4GiB --set job.cores=2 \
	--set job.reserved-memory=1GiB job-script --role worker
t_like "$T_OUT" $'\n#SBATCH --mem=4G\n' "generic-slurm: the request is job.memory"
t_like "$T_OUT" " --memory '$((3 * 1073741824 / 2))'" "generic-slurm: workers share what is left"
t_run "$CLUSTER" --profile generic-slurm config show
t_like "$T_OUT" $'\njob.reserved-memory += 0 \\(0 bytes; 1 worker per node, 2 GiB each\\) +# default' \
	"the default reserves nothing"
t_run "$CLUSTER" --profile casper --set job.reserved-memory=25GB job-script --role worker
t_is "$T_RC:$T_ERR" "1:cluster: job.reserved-memory = 25GB leaves the workers nothing of job.memory = 25GB; lower job.reserved-memory or raise job.memory" \
	"a reservation of all the memory is refused"

# --- Derecho's PALS mpiexec ---------------------------------------------------
#
# No PALS here: the launch line is what is checked (the golden files of
# 0032 hold the whole scripts).

t_run "$CLUSTER" --profile derecho --set job.nodes=2 job-script --role worker
t_like "$T_OUT" $'\nmpiexec --no-abort-on-failure -n 32 --ppn 16 ' "a PALS worker job says the ranks per node"
t_run "$CLUSTER" --profile derecho --set job.nodes=2 job-script --role head
t_like "$T_OUT" $'\nmpiexec --no-abort-on-failure -n 32 --ppn 16 ' "a PALS head job: the scheduler in a worker's place"
t_like "$T_OUT" $'\n#PBS -l select=2:ncpus=128:mpiprocs=16:' "and the same chunk on every node"
t_run "$CLUSTER" --profile derecho --set job.processes=1 job-script --role head
t_is "$T_RC:$T_ERR" "1:cluster: a head job under PALS runs job.nodes x job.processes ranks, the scheduler in a worker's place: 1 rank leaves no worker; raise job.processes or job.nodes" \
	"a PALS head job of one rank is refused"
t_run "$CLUSTER" --profile derecho --set launch.command=mpirun job-script --role worker
t_is "$T_RC:$T_ERR" "1:cluster: launch.mpi = pals starts ranks with mpiexec, not mpirun; set launch.command to mpiexec" \
	"PALS with mpirun is refused"

t_done
