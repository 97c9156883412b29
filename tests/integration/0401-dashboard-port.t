#!/bin/bash
# The HTTP port and the pool's failures as the dashboard's users see them.
# scheduler.http-port defaults to 8787; a scheduler whose port is taken
# takes a free one, says so in its log and in what start and status
# print, and serves there, and several schedulers started at once with
# the default all start.  On the private Slurm: a partition Slurm refuses
# counts as a permanent submit failure in /metrics, and a status poll
# that fails (squeue answering an error, as when slurmctld is busy)
# counts as a poll error, the last-poll gauge going back to 0 after; the
# dashboard's pool page (chromium) shows the pause, the failed poll and
# the job with its times; a squeue that hangs is killed at
# pool.command-timeout, a failed poll that says so.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || t_bail "curl is installed"

http_port() {
	sed -n 's/.*"http_port": *\([0-9]*\).*/\1/p' "$CLUSTER_HOME/$1/address"
}
answers() {	# NAME PORT: its API answers there with its token
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer \
$(cat "$CLUSTER_HOME/$1/token")" "http://127.0.0.1:$2/api/v1/counters")" = 200 ]
}
NAMES=
start() {	# NAME [OPTION...]
	local n=$1
	shift
	NAMES="$NAMES $n"
	timeout 60 "$CLUSTER" --name "$n" --profile local \
		--set scheduler.host=127.0.0.1 "$@" start
}
stop_all() {
	local n
	for n in $NAMES; do
		timeout 60 "$CLUSTER" --name "$n" stop --timeout 5 >/dev/null 2>&1
	done
}
trap 'stop_all; t_cleanup' EXIT

# --- the default, 8787, or a free port when it is taken ----------------------
t_run start pa
t_is "$T_RC" 0 "a scheduler starts with the default port"
pa=$(http_port pa)
if [ "$pa" = 8787 ]; then
	t_like "$(cat "$CLUSTER_HOME/pa/scheduler.log")" "HTTP API on port 8787" \
		"it took 8787, Dask's port"
	t_unlike "$T_OUT" "was taken" "and start says nothing of a port taken"
else
	# Another scheduler on this machine holds 8787.
	t_like "$(cat "$CLUSTER_HOME/pa/scheduler.log")" \
		"HTTP port 8787 is taken: the HTTP API and dashboard are on port $pa instead" \
		"8787 is held elsewhere: its log says which port it took"
	t_like "$T_OUT" "port 8787 \(scheduler.http-port\) was taken: the scheduler took port $pa" \
		"and so does start"
fi

# --- a second scheduler asking for the first one's port ------------------------
t_run start pb --set scheduler.http-port="$pa"
t_is "$T_RC" 0 "a second scheduler asking for the same port starts"
pb=$(http_port pb)
t_check "on another port ($pb, not $pa)" [ -n "$pb" -a "$pb" != "$pa" ]
t_like "$T_OUT" "dashboard +http://127.0.0.1:$pb/status#token=" \
	"start prints the link with the port it took"
t_like "$T_OUT" "port $pa \(scheduler.http-port\) was taken: the scheduler took port $pb" \
	"and says the port asked for was taken"
t_like "$(cat "$CLUSTER_HOME/pb/scheduler.log")" \
	"warning: HTTP port $pa is taken: the HTTP API and dashboard are on port $pb instead" \
	"its log says so"
t_run "$CLUSTER" --name pb --set scheduler.http-port="$pa" status
t_like "$T_OUT" "port $pa \(scheduler.http-port\) was taken: the scheduler took port $pb" \
	"and so does status"
t_check "the first serves on its port" answers pa "$pa"
t_check "the second on the one it took" answers pb "$pb"
refused() {
	! answers "$@"
}
t_check "each with its own token" refused pb "$pa"

# --- many at once with the default ----------------------------------------------
for n in pc pd pe; do
	NAMES="$NAMES $n"
	timeout 60 "$CLUSTER" --name "$n" --profile local \
		--set scheduler.host=127.0.0.1 start >"$T_DIR/$n.out" 2>&1 &
done
wait
ports=
for n in pc pd pe; do
	ports="$ports $(http_port "$n")"
done
t_is "$(echo $ports | wc -w)" 3 "three schedulers started at once all serve$(cat "$T_DIR"/p[cde].out | grep cluster: | sed 's/^/ /')"
t_is "$(echo $ports | tr ' ' '\n' | sort -u | wc -l)" 3 "each on a port of its own ($ports)"
for n in pc pd pe; do
	t_check "'$n' answers on its port" answers "$n" "$(http_port "$n")"
done
stop_all
NAMES=

# --- the pool's failures in /metrics, on the private Slurm ----------------------
if ! have_slurm; then
	t_skip "the pool's failures in /metrics" "no Slurm packages or not root"
	t_done
fi
slurm_up || t_bail "the private Slurm starts"

# squeue as it is, but answering an error while $WRAP/fail exists, and
# never answering (its pid in $WRAP/hung.pid) while $WRAP/hang does
WRAP=$T_DIR/wrap
mkdir -p "$WRAP"
real_squeue=$(command -v squeue)
cat >"$WRAP/squeue" <<EOF
#!/bin/bash
if [ -e "$WRAP/hang" ]; then
	echo \$\$ >"$WRAP/hung.pid"
	exec sleep 600
fi
if [ -e "$WRAP/fail" ]; then
	echo "squeue: error: slurm_load_jobs error: Socket timed out on send/recv operation" >&2
	exit 1
fi
exec "$real_squeue" "\$@"
EOF
chmod +x "$WRAP/squeue"

sl=(--profile generic-slurm --set scheduler.location=local
	--set scheduler.host=127.0.0.1 --set job.cores=1 --set job.memory=500MB
	--set job.walltime=00:10:00 --set pool.poll-interval=2s)
s() {	# NAME ARGS...: the CLI for a Slurm-pool scheduler
	local n=$1
	shift
	PATH=$WRAP:$PATH timeout 60 "$CLUSTER" --name "$n" "${sl[@]}" "$@"
}
metrics() {	# NAME
	local p
	p=$(http_port "$1")
	curl -s -H "Authorization: Bearer $(cat "$CLUSTER_HOME/$1/token")" \
		"http://127.0.0.1:$p/metrics"
}
metric() {	# NAME SERIES: its value
	metrics "$1" | awk -v k="$2" '$1 == k { print $2 }'
}
track_all() {
	local id
	for id in $("$real_squeue" -h -o '%F %j' | awk '$2 ~ /^p[fg]-/ {print $1}' | sort -u); do
		slurm_track "$id"
	done
}
trap 'stop_all; track_all; t_cleanup' EXIT

# A partition Slurm no longer has: a permanent failure, the pool paused.
# `cluster start` dry-runs the worker job, so the partition exists at the
# start and is deleted before the first submission.
NAMES="pf"
PART=pf$$
scontrol create PartitionName="$PART" Nodes=ALL State=UP ||
	t_bail "a partition of its own is created"
trap 'stop_all; track_all; scontrol delete PartitionName="$PART" 2>/dev/null; t_cleanup' EXIT
t_run s pf --set job.queue="$PART" start
t_is "$T_RC" 0 "a scheduler with a Slurm pool starts"
scontrol delete PartitionName="$PART"
s pf scale 1 >/dev/null
wait_for 60 bash -c "'$CLUSTER' --name pf status | grep -q '^paused'" ||
	t_fail "the pool pauses on the refused partition"
t_is "$(metric pf 'cluster_pool_submit_failures_total{kind="permanent"}')" 1 \
	"/metrics counts the refusal as a permanent submit failure"
t_is "$(metric pf 'cluster_pool_submit_failures_total{kind="transient"}')" 0 \
	"and no transient one"
t_is "$(metric pf cluster_pool_paused)" 1 "the pool is paused"
t_is "$(metric pf cluster_pool_target_workers)" 1 "its target is there"
# pool_page NAME: the /pool page's DOM after its script ran, in chromium
pool_page() {
	chromium_dom "http://127.0.0.1:$(http_port "$1")/pool#token=$(cat "$CLUSTER_HOME/$1/token")"
}
if command -v chromium >/dev/null; then
	t_like "$(pool_page pf)" "paused: submission refused: [^<]*[Ii]nvalid partition" \
		"the pool page says why the pool is paused, in Slurm's words"
else
	t_skip "the pool page of a paused pool" "no chromium"
fi
if command -v promtool >/dev/null; then
	metrics pf >"$T_DIR/metrics"
	t_run promtool check metrics <"$T_DIR/metrics"
	t_is "$T_RC" 0 "promtool check metrics accepts it${T_ERR:+ ($T_ERR)}"
fi

# A job in the queue, and squeue failing for a while: poll errors.
NAMES="pf pg"
t_run s pg --set job.queue=debug --set pool.command-timeout=3s start
t_is "$T_RC" 0 "a second one starts"
s pg scale 1 >/dev/null
polled() {
	[ "$(metric pg cluster_pool_polls_total)" -ge "$1" ] 2>/dev/null
}
wait_for 60 polled 1 || t_fail "the pool polls its job"
track_all
touch "$WRAP/fail"
errors() {
	[ "$(metric pg cluster_pool_poll_errors_total)" -ge 1 ] 2>/dev/null
}
wait_for 60 errors
t_check "/metrics counts the failed polls" errors
t_is "$(metric pg cluster_pool_poll_error)" 1 "and says the last poll failed"
if command -v chromium >/dev/null; then
	dom=$(pool_page pg)
	t_like "$dom" "last poll failed: [^<]*Socket timed out" \
		"the pool page shows the failed poll with squeue's message"
	t_like "$dom" "<td>$(squeue -h -o '%i %j' | awk '$2 == "pg-1" { print $1 }')</td><td>(queued|starting|running)</td><td>[^<]*</td><td class=\"n\">[01]/1</td><td>[0-9]" \
		"and the job with its state, workers and submission time"
fi
n=$(metric pg cluster_pool_poll_errors_total)
rm -f "$WRAP/fail"
recovered() {
	[ "$(metric pg cluster_pool_poll_error)" = 0 ]
}
wait_for 60 recovered
t_check "a poll that works again clears the gauge" recovered
t_check "and the count stays ($n)" [ "$(metric pg cluster_pool_poll_errors_total)" -ge "$n" ]

# squeue that hangs: killed at pool.command-timeout (3 s here), a failed
# poll that says so, and the scheduler answers meanwhile
n=$(metric pg cluster_pool_poll_errors_total)
touch "$WRAP/hang"
wait_for 20 test -s "$WRAP/hung.pid"
t_run timeout 5 "$CLUSTER" --name pg status
t_is "$T_RC" 0 "status answers while squeue hangs"
more_errors() {
	[ "$(metric pg cluster_pool_poll_errors_total)" -gt "$n" ] 2>/dev/null
}
wait_for 30 more_errors
t_check "the hung poll counts as failed" more_errors
t_like "$(s pg status)" "last poll .*failed: timed out: no answer in 3 s \(pool.command-timeout\), killed" \
	"status says it timed out, after how long, and which setting that is"
hung=$(cat "$WRAP/hung.pid")
wait_for 10 bash -c "! kill -0 $hung 2>/dev/null"
t_check "the hung squeue is killed" bash -c "! kill -0 $hung 2>/dev/null"
rm -f "$WRAP/hang"
wait_for 60 recovered
t_check "polls work again once squeue answers" recovered
stop_all
track_all
t_done
