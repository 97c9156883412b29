# Shared helpers of the integration tests; each NNNN-area.t sources it:
#
#	. "$(dirname "$0")/lib.sh"
#
# What it sets up, per test script:
#	T_ROOT        the source tree
#	T_DIR         a fresh temporary directory, removed on exit
#	              (kept when T_KEEP=1, for a look after a failure)
#	CLUSTER       $CLUSTER_BUILD/bin/cluster (CLUSTER_BUILD default: build/)
#	CLUSTER_RANK  $CLUSTER_BUILD/bin/cluster-rank
#	CLUSTER_HOME  a private state directory under T_DIR (exported)
#	HOME          a private home under T_DIR, so no user configuration
#	              (~/.config/cluster) leaks into a test; CLUSTER_CONFIG,
#	              CLUSTER_NAME and CLUSTER_PROFILE unset
#	OMPI_ALLOW_RUN_AS_ROOT, OMPI_ALLOW_RUN_AS_ROOT_CONFIRM  exported: the
#	              tests run as root, and mpirun refuses root without them
#	OMPI_MCA_rmaps_base_oversubscribe=1  exported: test machines may have
#	              fewer cores than a test starts ranks (mpirun --oversubscribe)
#
# TAP output, no plan line: t_ok, t_fail, t_is, t_like, t_unlike, t_skip,
# then t_done at the end (summary, exit status 1 when anything failed).
# t_run runs a command and keeps its stdout, stderr and status.
# wait_for polls a command until it succeeds or a timeout passes.
# t_spawn starts a background command in its own process group; every
# group started so is killed on exit.  slurm_up starts (or reuses) the
# private Slurm of slurm.sh and exports SLURM_CONF; slurm_track records a
# job id so it is cancelled on exit.

set -u

T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T_NAME=$(basename "$0" .t)
CLUSTER_BUILD=${CLUSTER_BUILD:-$T_ROOT/build}
case $CLUSTER_BUILD in
/*) ;;
*) CLUSTER_BUILD=$T_ROOT/$CLUSTER_BUILD ;;
esac
CLUSTER=$CLUSTER_BUILD/bin/cluster
CLUSTER_RANK=$CLUSTER_BUILD/bin/cluster-rank

T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cluster-$T_NAME.XXXXXX") || {
	echo "not ok 1 - cannot create a temporary directory"
	exit 1
}
export CLUSTER_HOME=$T_DIR/cluster-home
export HOME=$T_DIR/home
mkdir -p "$CLUSTER_HOME" "$HOME"
chmod 0700 "$CLUSTER_HOME"
unset CLUSTER_CONFIG CLUSTER_NAME CLUSTER_PROFILE
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

T_N=0
T_FAILED=0
T_PGIDS=()
T_JOBS=()

# --- TAP --------------------------------------------------------------------

t_ok() {
	T_N=$((T_N + 1))
	echo "ok $T_N - $1"
}

# t_fail DESC [DETAIL...]: details go out as "# " comment lines.
t_fail() {
	local desc=$1 line
	shift
	T_N=$((T_N + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_N - $desc"
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/#   /'
	done
}

# t_skip DESC REASON: counts as passed, says why it did not run.
t_skip() {
	T_N=$((T_N + 1))
	echo "ok $T_N - $1 # skip $2"
}

# t_check DESC COMMAND...: ok when the command exits 0.
t_check() {
	local desc=$1
	shift
	if "$@"; then
		t_ok "$desc"
	else
		t_fail "$desc" "command failed: $*"
	fi
}

t_is() {
	if [ "$1" = "$2" ]; then
		t_ok "$3"
	else
		t_fail "$3" "got:  '$1'" "want: '$2'"
	fi
}

# t_like TEXT REGEX DESC: bash extended regex, anywhere in TEXT.
t_like() {
	if [[ $1 =~ $2 ]]; then
		t_ok "$3"
	else
		t_fail "$3" "no match for /$2/ in:" "$1"
	fi
}

t_unlike() {
	if [[ $1 =~ $2 ]]; then
		t_fail "$3" "unexpected match for /$2/ in:" "$1"
	else
		t_ok "$3"
	fi
}

# t_run COMMAND...: sets T_OUT, T_ERR (text) and T_RC (exit status).
t_run() {
	"$@" >"$T_DIR/.out" 2>"$T_DIR/.err"
	T_RC=$?
	T_OUT=$(cat "$T_DIR/.out")
	T_ERR=$(cat "$T_DIR/.err")
	return 0
}

t_done() {
	echo "# $T_NAME: $((T_N - T_FAILED)) passed, $T_FAILED failed"
	[ "$T_FAILED" -eq 0 ] && [ "$T_N" -gt 0 ]
	exit $?
}

# t_bail REASON: stop the script now, as one failure.
t_bail() {
	t_fail "$1" "${@:2}"
	t_done
}

# --- waiting ----------------------------------------------------------------

# wait_for TIMEOUT_SECONDS COMMAND...: run COMMAND every 0.1 s until it
# succeeds; on timeout say so on stderr and return 1.
wait_for() {
	local timeout=$1
	shift
	local deadline=$((SECONDS + timeout))
	while :; do
		"$@" && return 0
		if ((SECONDS >= deadline)); then
			echo "# wait_for: '$*' still failing after ${timeout}s" >&2
			return 1
		fi
		sleep 0.1
	done
}

# --- processes --------------------------------------------------------------

# t_spawn COMMAND...: start COMMAND in the background in a new process
# group; T_PID is its pid (and group id).  Killed on exit.
t_spawn() {
	setsid "$@" &
	T_PID=$!
	T_PGIDS+=("$T_PID")
}

# t_kill PID: stop one group started with t_spawn, TERM then KILL.
t_kill() {
	local pg=$1 i
	kill -TERM -- "-$pg" 2>/dev/null || return 0
	for ((i = 0; i < 30; i++)); do
		kill -0 -- "-$pg" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "-$pg" 2>/dev/null
	return 0
}

# --- Slurm ------------------------------------------------------------------

# have_slurm: the private Slurm can be started here (packages, root).
have_slurm() {
	[ "$(id -u)" -eq 0 ] || return 1
	local c
	for c in slurmctld slurmd sbatch scontrol scancel munged munge; do
		command -v "$c" >/dev/null 2>&1 ||
			[ -x "/usr/sbin/$c" ] || return 1
	done
}

# slurm_up: start the private Slurm or reuse the one running; exports
# SLURM_CONF.  Prints why on failure.
slurm_up() {
	local out
	if ! out=$("$T_ROOT/tests/integration/slurm.sh" start 2>&1); then
		echo "# slurm.sh start failed:" >&2
		printf '%s\n' "$out" | sed 's/^/#   /' >&2
		return 1
	fi
	SLURM_CONF=$(printf '%s\n' "$out" | sed -n 's/^SLURM_CONF=//p' | tail -1)
	[ -n "$SLURM_CONF" ] || return 1
	export SLURM_CONF
}

# slurm_track JOBID: cancel this job when the test exits.
slurm_track() {
	T_JOBS+=("$1")
}

# slurm_field JOBID FIELD: one field of `scontrol show job`, e.g. NumCPUs.
slurm_field() {
	scontrol -o show job "$1" 2>/dev/null |
		tr ' ' '\n' | sed -n "s|^$2=||p" | head -1
}

# slurm_state_is JOBID REGEX: for wait_for.
slurm_state_is() {
	[[ $(slurm_field "$1" JobState) =~ ^($2)$ ]]
}

# slurm_nodes JOBID: NumNodes, which reads "1-1" while pending, "1" once
# placed.
slurm_nodes() {
	local n
	n=$(slurm_field "$1" NumNodes)
	echo "${n%%-*}"
}

# slurm_mib SIZE: Slurm prints memory as 1024M, 1G, 1.50G; in MiB for
# comparisons.
slurm_mib() {
	awk -v m="$1" 'BEGIN {
		n = m + 0; u = substr(m, length(m));
		if (u == "K") n /= 1024; else if (u == "G") n *= 1024;
		else if (u == "T") n *= 1048576;
		printf "%d\n", n + 0.5 }'
}

# --- a cluster's state directory ---------------------------------------------

# address_field KEY [DIR]: the number KEY ("pid", "port", "http_port") of
# the address file in state directory DIR (default $state); empty while
# there is none.
address_field() {
	sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" "${2:-$state}/address" 2>/dev/null
}
# make_state DIR WORKERS: a state directory as the scheduler makes it,
# with a pool target of WORKERS workers for its first start.
make_state() {
	mkdir -p "$1" && chmod 700 "$1" && echo "{\"workers\":$2}" >"$1/target"
}

# local_cluster NAME: for a local cluster NAME on 127.0.0.1, c (its
# CLI), state (its state directory, made with a target of 2 workers) and
# marks (a folder for the tasks' marker files).
local_cluster() {
	c=("$CLUSTER" --profile local --set scheduler.host=127.0.0.1 --name "$1")
	state=$CLUSTER_HOME/$1
	marks=$T_DIR/marks
	make_state "$state" 2
	mkdir -p "$marks"
}

# --- the browser ----------------------------------------------------------------

# chromium_run FLAGS...: headless chromium, its profile in T_DIR, its
# messages in T_DIR/chrome.log; every host but 127.0.0.1 resolves to
# nothing, so a request elsewhere fails rather than leave the machine.
chromium_run() {
	timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking \
		--disable-component-update --disable-sync \
		--host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
		--user-data-dir="$(mktemp -d "$T_DIR/chrome.XXXXXX")" \
		"$@" 2>>"$T_DIR/chrome.log"
}
# chromium_dom URL [FLAGS...]: the DOM after the page's scripts ran a while.
chromium_dom() {
	local url=$1
	shift
	chromium_run --virtual-time-budget=6000 "$@" --dump-dom "$url"
}

# --- exit -------------------------------------------------------------------

t_cleanup() {
	local pg id
	if [ "${#T_JOBS[@]}" -gt 0 ]; then
		for id in "${T_JOBS[@]}"; do
			scancel "$id" >/dev/null 2>&1
		done
	fi
	if [ "${#T_PGIDS[@]}" -gt 0 ]; then
		for pg in "${T_PGIDS[@]}"; do
			t_kill "$pg"
		done
	fi
	if [ "${T_KEEP:-0}" = 1 ]; then
		echo "# kept $T_DIR" >&2
	else
		rm -rf "$T_DIR"
	fi
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM
