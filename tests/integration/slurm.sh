#!/bin/bash
# A private Slurm on localhost for the integration tests.
#
#   slurm.sh start    start munge (when none answers), slurmctld and slurmd;
#                     a second start reuses what runs; prints SLURM_CONF=...
#   slurm.sh stop     stop the daemons this script started, and nothing else
#   slurm.sh status   exit 0 when the private Slurm answers, 1 when not
#
# Everything lives under $CLUSTER_SLURM_DIR (default /tmp/cluster-test-slurm):
# slurm.conf, state, spool, logs, and the pid files that say what was started
# here.  Ports are picked free at first start, so a system Slurm (which reads
# /etc/slurm/slurm.conf, not ours) cannot clash.  Runs as root: slurmd has
# to, and SlurmUser=root keeps the set-up to one user.
set -u

DIR=${CLUSTER_SLURM_DIR:-/tmp/cluster-test-slurm}
CONF=$DIR/slurm.conf
LOCK=$DIR.lock
START_TIMEOUT=${CLUSTER_SLURM_TIMEOUT:-60}

say() { echo "slurm.sh: $*" >&2; }

# Pid from a pid file when that process still runs the named program.
live_pid() {
	local file=$1 prog=$2 pid comm
	[ -s "$file" ] || return 1
	pid=$(tr -dc 0-9 <"$file")
	[ -n "$pid" ] || return 1
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
	[ "$comm" = "$prog" ] || return 1
	echo "$pid"
}

munge_ok() {
	munge -n 2>/dev/null | unmunge >/dev/null 2>&1
}

# Munge as the Debian package would run it; the key is made when missing.
start_munge() {
	munge_ok && return 0
	mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
	if [ ! -s /etc/munge/munge.key ]; then
		if [ -x /usr/sbin/mungekey ]; then
			/usr/sbin/mungekey --create --keyfile=/etc/munge/munge.key --force
		elif [ -x /usr/sbin/create-munge-key ]; then
			/usr/sbin/create-munge-key -f
		else
			dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null
		fi
	fi
	chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
	chmod 0700 /etc/munge /var/log/munge
	chmod 0755 /run/munge
	chmod 0600 /etc/munge/munge.key
	# A stale socket or pid file from a killed munged makes a new one refuse.
	if ! pgrep -x munged >/dev/null; then
		rm -f /run/munge/munged.pid /run/munge/munge.socket.2 \
			/run/munge/munge.socket.2.lock
	fi
	if ! runuser -u munge -- /usr/sbin/munged 9>&-; then
		say "munged failed to start; see /var/log/munge/munged.log"
		tail -5 /var/log/munge/munged.log >&2 2>/dev/null
		return 1
	fi
	local i
	for ((i = 0; i < 50; i++)); do
		if munge_ok; then
			cp /run/munge/munged.pid "$DIR/munged.pid" 2>/dev/null
			return 0
		fi
		sleep 0.1
	done
	say "munged started but 'munge -n | unmunge' fails"
	tail -5 /var/log/munge/munged.log >&2 2>/dev/null
	return 1
}

port_free() {
	! ss -Htan 2>/dev/null | awk '{print $4}' | grep -qE "[:.]$1\$"
}

# Two adjacent free ports, away from Slurm's defaults 6817/6818.
pick_ports() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % 20000))
		if port_free "$p" && port_free "$((p + 1))"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

write_conf() {
	local host cpus port
	host=$(hostname -s)
	cpus=$(nproc)
	port=$(pick_ports) || { say "no free port pair found"; return 1; }
	mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"
	cat >"$CONF.tmp" <<EOF
# private Slurm for the cluster integration tests (written by slurm.sh)
ClusterName=clustertest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmdParameters=config_overrides
ReturnToService=2
# finished jobs stay visible to 'scontrol show job' for an hour
MinJobAge=3600
KillWait=2
InactiveLimit=0
SchedulerParameters=sched_interval=2
DefMemPerCPU=256
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=8000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF
	mv "$CONF.tmp" "$CONF"
}

node_state() {
	SLURM_CONF=$CONF timeout 5 sinfo -h -N -o %T 2>/dev/null | head -1
}

is_up() {
	live_pid "$DIR/slurmctld.pid" slurmctld >/dev/null &&
		live_pid "$DIR/slurmd.pid" slurmd >/dev/null &&
		munge_ok &&
		case $(node_state) in
		idle* | mixed* | allocated* | completing*) true ;;
		*) false ;;
		esac
}

logs() {
	local f
	for f in "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log"; do
		[ -f "$f" ] || continue
		echo "--- tail of $f" >&2
		tail -15 "$f" >&2
	done
}

do_start() {
	if is_up; then
		echo "SLURM_CONF=$CONF"
		return 0
	fi
	mkdir -p "$DIR"
	start_munge || return 1
	# Leftovers of a half-started or crashed set: stop them first.
	do_stop_daemons
	write_conf || return 1
	rm -f "$DIR/log/"*.log
	local ctld=/usr/sbin/slurmctld slurmd=/usr/sbin/slurmd
	# -c: start from clean state, no jobs from an earlier run come back.
	if ! "$ctld" -c -f "$CONF" 9>&-; then
		say "slurmctld failed to start"
		logs
		return 1
	fi
	if ! "$slurmd" -c -f "$CONF" 9>&-; then
		say "slurmd failed to start"
		logs
		return 1
	fi
	local deadline=$((SECONDS + START_TIMEOUT)) st
	while ((SECONDS < deadline)); do
		st=$(node_state)
		case $st in
		idle*)
			echo "SLURM_CONF=$CONF"
			return 0
			;;
		down* | drain* | fail*)
			# ReturnToService=2 brings a registering node back; a node
			# stuck down after registration needs a nudge.
			SLURM_CONF=$CONF scontrol update nodename="$(hostname -s)" \
				state=resume >/dev/null 2>&1
			;;
		esac
		sleep 0.3
	done
	say "node not idle after ${START_TIMEOUT}s (state '${st:-none}')"
	logs
	return 1
}

# Signal a daemon recorded in a pid file and wait for it to go.
stop_pidfile() {
	local file=$1 prog=$2 pid i
	pid=$(live_pid "$file" "$prog") || { rm -f "$file"; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	rm -f "$file"
}

do_stop_daemons() {
	stop_pidfile "$DIR/slurmd.pid" slurmd
	stop_pidfile "$DIR/slurmctld.pid" slurmctld
}

do_stop() {
	do_stop_daemons
	stop_pidfile "$DIR/munged.pid" munged
}

cmd=${1:-}
case $cmd in
start | stop)
	mkdir -p "$(dirname "$DIR")"
	# One start or stop at a time: tests run by different people at once
	# share the same private Slurm.  The daemons must not inherit fd 9, or
	# they would hold the lock for as long as they run.
	exec 9>"$LOCK"
	flock -w 120 9 || { say "cannot lock '$LOCK'"; exit 1; }
	if [ "$cmd" = start ]; then do_start; else do_stop; fi
	;;
status)
	if is_up; then
		echo "up: SLURM_CONF=$CONF node $(node_state)"
	else
		echo "down"
		exit 1
	fi
	;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
