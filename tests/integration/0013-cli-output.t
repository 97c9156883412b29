#!/bin/bash
# What the task commands print and accept, as a user of a batch system
# expects: the task group's own option, names from the environment, the
# listing's columns, JSON for scripts, logs of tasks that have not run,
# help, suggestions and one-line errors.  The first part needs no
# scheduler; the rest runs against a head job (mpirun cluster-rank, rank 0
# the scheduler, two worker ranks).
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"

c() {
	timeout 60 "$CLUSTER" --name T "$@"
}

# t_line TEXT REGEX DESC: some line of TEXT matches REGEX (grep -E).
t_line() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		t_ok "$3"
	else
		t_fail "$3" "no line matches /$2/ in:" "$1"
	fi
}

# pyjson EXPR: read stdin as JSON into j, print EXPR.
pyjson() {
	python3 -c "import json, sys; j = json.load(sys.stdin); print($1)"
}

# --- without a scheduler --------------------------------------------------------

# The cluster and the profile from the environment, below the options.
CLUSTER_NAME=fromenv t_run "$CLUSTER" tasks
t_like "$T_ERR" "^cluster: no cluster 'fromenv'" \
	"CLUSTER_NAME names the cluster"
CLUSTER_NAME=fromenv t_run "$CLUSTER" --name other tasks
t_like "$T_ERR" "^cluster: no cluster 'other'" \
	"--name wins over CLUSTER_NAME"
CLUSTER_PROFILE=derecho t_run "$CLUSTER" config show
t_like "$T_OUT" "^# profile derecho: \\\$CLUSTER_PROFILE" \
	"CLUSTER_PROFILE picks the profile, and config show says so"
CLUSTER_PROFILE=derecho t_run "$CLUSTER" --profile casper config show
t_like "$T_OUT" "^# profile casper: --profile" "--profile wins over CLUSTER_PROFILE"
CLUSTER_PROFILE= t_run "$CLUSTER" --profile casper config show
t_like "$T_OUT" "^# profile casper: --profile" "an empty CLUSTER_PROFILE is unset"

# config show in columns, a bundled profile's origin by its file's name.
t_run "$CLUSTER" --profile casper config show
t_is "$(printf '%s\n' "$T_OUT" | grep -v '^#' | awk '{ print index($0, " = ") }' | sort -u | wc -l)" 1 \
	"config show: every '=' in one column"
t_is "$(printf '%s\n' "$T_OUT" | grep -E '^(job\.name|job\.queue|job\.cores|job\.memory) ' |
	awk '{ print index($0, "  # ") }' | sort -u | wc -l)" 1 "config show: origins in one column"
t_line "$T_OUT" '^job\.queue += casper +# casper\.yaml:[0-9]+:[0-9]+$' \
	"config show: a bundled profile's origin is its file's name"
t_line "$T_OUT" "^# NAME\.yaml: a bundled profile, in $T_ROOT/config\$" \
	"config show: the header says where the bundled profiles are"
mkdir -p "$HOME/.config/cluster"
printf 'job:\n  account: XYZ\n' >"$HOME/.config/cluster/cluster.yaml"
t_run "$CLUSTER" config show
t_line "$T_OUT" '^job\.account += XYZ +# ~/\.config/cluster/cluster\.yaml:2:3$' \
	"config show: a file of the home directory under ~"
rm "$HOME/.config/cluster/cluster.yaml"

# config profiles says once which profile a command would use now, and why.
t_run "$CLUSTER" config profiles
t_like "$(printf '%s\n' "$T_OUT" | tail -1)" '^in use: [a-z-]+ \(auto: ' \
	"config profiles ends with the profile in use, picked by auto"
t_is "$(printf '%s\n' "$T_OUT" | grep -o 'auto' | wc -l)" 1 "config profiles says 'auto' once"
t_run "$CLUSTER" --profile derecho config profiles
t_is "$(printf '%s\n' "$T_OUT" | tail -1)" "in use: derecho (--profile)" \
	"config profiles: the profile --profile gives is the one in use"
CLUSTER_PROFILE=casper t_run "$CLUSTER" config profiles
t_is "$(printf '%s\n' "$T_OUT" | tail -1)" 'in use: casper ($CLUSTER_PROFILE)' \
	"config profiles: so is the one of CLUSTER_PROFILE"

# config show --json: the profile, why, and every key typed, with its origin.
if command -v python3 >/dev/null; then
	t_run "$CLUSTER" --profile casper config show --json
	t_is "$T_RC" 0 "config show --json: exit 0"
	t_is "$(printf '%s' "$T_OUT" | pyjson "j['profile'], j['reason'], len(j['keys'])")" \
		"casper --profile $("$CLUSTER" config keys | wc -l)" \
		"config show --json: the profile, why, and every key"
	t_is "$(printf '%s' "$T_OUT" | pyjson "j['keys']['job.memory']['value'], j['keys']['job.memory']['text'], j['keys']['job.memory']['rendered']")" \
		"25000000000 25GB mem=23842MB" "config show --json: a size in bytes, as written and as rendered"
	t_is "$(printf '%s' "$T_OUT" | pyjson "j['keys']['job.account']['value'], j['keys']['job.account']['origin'], type(j['keys']['launch.args']['value']).__name__")" \
		"None default list" "config show --json: unset is null, lists are arrays"
else
	t_skip "config show --json" "no python3 to read JSON"
fi
t_run "$CLUSTER" config profiles --json
t_is "$T_RC" 2 "--json is for config show only"

# --- a scheduler that does not answer: one line, no table header ---------------
# An address file of a scheduler on another node (so its pid cannot be
# checked here), on a port where nothing listens.
closed_port() {
	local p
	for p in $(shuf -i 20000-60000 -n 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}
port=$(closed_port)
gone=$CLUSTER_HOME/gone
mkdir -m 0700 "$gone"
printf '%064d\n' 0 >"$gone/token"
chmod 0600 "$gone/token"
printf '{"host": "127.0.0.1", "port": %d, "http_port": %d, "url": "http://127.0.0.1:%d/", "pid": %d, "node": "elsewhere", "started": "2026-01-01T00:00:00Z"}\n' \
	"$port" "$port" "$port" $$ >"$gone/address"
for cmd in tasks workers "tasks --summary"; do
	t_run "$CLUSTER" --name gone $cmd
	t_is "$T_RC $T_OUT" "1 " "$cmd of a scheduler that does not answer: exit 1, no table header"
	t_like "$T_ERR" "^cluster: cannot connect to scheduler at 127\.0\.0\.1:$port: [^"$'\n'"]*; the address of 'gone' may be stale \(pid $$ on elsewhere\)\$" \
		"$cmd: one line that says the address may be stale"
done

# --- help: a line per argument and per option -------------------------------------
t_run "$CLUSTER" help config
t_line "$T_OUT" '^  profiles +the profiles' "help config has a line per action"
t_line "$T_OUT" '^  check FILE +check FILE' "help config: the action with its argument"
t_run "$CLUSTER" cancel --help
t_line "$T_OUT" '^  ID\|A-B\.\.\. +the tasks' "cancel --help describes its arguments"
bad=
for cmd in $("$CLUSTER" help | sed -n '/^commands:/,/^$/p' | awk 'NF && !/^commands:/ { print $1 }'); do
	help=$("$CLUSTER" help "$cmd")
	for o in $(printf '%s\n' "$help" | sed -n '/^usage:/,/^$/p' | grep -o -- '--[a-z-]*' | sort -u); do
		printf '%s\n' "$help" | grep -Eq -- "^  (-[a-z], )?$o( |\$)" || bad+=" $cmd:$o"
	done
	wide=$(printf '%s\n' "$help" | awk 'length > 80' | head -1)
	[ -z "$wide" ] || bad+=" $cmd:wide"
done
t_is "$bad" "" "help of every command: one line for each option, within 80 columns"

# --- an error is one line, then one line of usage ---------------------------------
# two_lines WHAT CMD...: exit 2, "cluster: ..." and "usage: ..." on stderr.
two_lines() {
	local what=$1
	shift
	t_run "$CLUSTER" "$@"
	t_is "$T_RC" 2 "$what: exit 2"
	t_like "$T_ERR" "^cluster: [^"$'\n'"]*"$'\n'"usage: cluster [^"$'\n'"]*; see 'cluster help[ a-z-]*'\$" \
		"$what: one line of error, one of usage"
}
two_lines "an unknown command" frobnicate
two_lines "help of an unknown command" help frobnicate
two_lines "an unknown global option" --frob tasks
two_lines "an unknown option" tasks --frob
two_lines "a bad value" tasks --limit 0
two_lines "a missing value" submit --cores
two_lines "a bad argument" logs x
two_lines "no command" --profile local
# Every error says whose it is first.
bad=
while read -r args; do
	out=$("$CLUSTER" $args 2>&1 >/dev/null | head -1)
	[[ $out == "cluster: "* ]] || bad+=" [$args: $out]"
done <<'EOT'

--set a help
submit
config check /nonexistent
wait x
cancel 0
tasks
--name gone tasks
job-script --role x
--profile nosuch config show
EOT
t_is "$bad" "" "every error starts with 'cluster: '"
t_run "$CLUSTER" tasks --limit 0
t_like "$T_ERR" "see 'cluster help tasks'" "the usage line says where the options are"

# --- versions ----------------------------------------------------------------------
want_version=$(sed -n 's/^VERSION *:= *//p' "$T_ROOT/Makefile")
if [ -x "$CLUSTER_RANK" ]; then
	t_run "$CLUSTER_RANK" --version
	t_is "$T_RC $T_OUT" "0 cluster-rank $want_version" "cluster-rank --version, without mpirun"
else
	t_skip "cluster-rank --version" "no cluster-rank"
fi

# --- the tools: what they say, and no colour escapes into a pipe -----------------
if command -v dpkg-query >/dev/null && dpkg-query -W bash coreutils >/dev/null 2>&1; then
	t_run "$T_ROOT/tools/deps.sh" bash coreutils
	t_is "$T_RC $T_OUT" "0 deps: all 2 packages present" "deps.sh says when nothing is missing"
	t_run "$T_ROOT/tools/deps.sh" bash
	t_is "$T_OUT" "deps: bash is present" "deps.sh of one package, in the singular"
else
	t_skip "deps.sh says when nothing is missing" "no dpkg"
fi
if [ -x "$CLUSTER_RANK" ] && command -v mpirun >/dev/null; then
	build_rel=$(realpath --relative-to="$T_ROOT" "$CLUSTER_BUILD")
	"$T_ROOT/tools/demo.sh" "$build_rel" >"$T_DIR/demo.out" 2>&1
	t_like "$(cat "$T_DIR/demo.out")" "== bundled site profiles" "the demo ran"
	t_is "$(grep -c $'\033' "$T_DIR/demo.out")" 0 "the demo prints no escapes into a file"
else
	t_skip "the demo prints no escapes into a file" "no cluster-rank or mpirun"
fi

# --- shell completion, from the command and option tables -------------------------
# completes EXPECTED WORD...: `cluster __complete WORD...` prints EXPECTED
# (space-separated).
completes() {
	local want=$1
	shift
	t_is "$("$CLUSTER" __complete "$@" | tr '\n' ' ' | sed 's/ $//')" "$want" \
		"completion of '$*'"
}
completes "tasks" ta
completes "submit" su
completes "--state" tasks --st
completes "running" tasks --state ru
completes "done,failed" tasks --state done,fa
completes "--state=running" tasks --state=ru
completes "casper casper-gpu" --profile ca
completes "derecho" --name x --profile de
completes "show check profiles" config ""
completes "--json" config --js
completes "head worker" job-script --role ""
completes "job.cores=" --set job.cor
completes "--follow" logs --fo
completes "--version --verbose" --ver
completes "" submit -- ec
completes "" submit sleep --co
completes "waiting queued assigned running done failed cancelled" tasks -v --state ""
completes "assigned" tasks --state as
# The bash function, as bash calls it: COMP_WORDS split at '='.
bash_completes() {
	local want=$1 line=$2
	got=$(bash -c '
		. "$1/tools/cluster-completion.bash"
		COMP_WORDS=("$2"); shift 2
		COMP_WORDS+=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_cluster
		printf "%s\n" "${COMPREPLY[@]}"' _ "$T_ROOT" "$CLUSTER" $line | tr '\n' ' ' | sed 's/ $//')
	t_is "$got" "$want" "bash completes 'cluster $line'"
}
bash_completes "worker workers" "work"
bash_completes "running" "tasks --state = ru"
bash_completes "generic-pbs generic-slurm" "--profile = gen"
t_run make -s -C "$T_ROOT" BUILD="$CLUSTER_BUILD" PREFIX="$T_DIR/prefix" install
t_check "make install installs the completion" \
	test -s "$T_DIR/prefix/share/bash-completion/completions/cluster"

# --- did you mean ------------------------------------------------------------------
t_run "$CLUSTER" taks
t_is "$T_RC" 2 "a mistyped command: exit 2"
t_like "$T_ERR" "^cluster: unknown command 'taks' \(did you mean 'tasks'\?\)" \
	"a mistyped command: did you mean"
t_run "$CLUSTER" bogus
t_like "$T_ERR" "^cluster: unknown command 'bogus'"$'\n' "a word close to no command: no guess"
t_run "$CLUSTER" help sumbit
t_like "$T_ERR" "^cluster: unknown command 'sumbit' \(did you mean 'submit'\?\)" \
	"help of a mistyped command: did you mean"
t_run "$CLUSTER" tasks --stat running
t_like "$T_ERR" "^cluster: unknown option '--stat' for 'tasks' \(did you mean '--state'\?\)" \
	"a mistyped option: did you mean"
t_run "$CLUSTER" --profle casper config show
t_like "$T_ERR" "^cluster: unknown option '--profle' \(did you mean '--profile'\?\)" \
	"a mistyped global option: did you mean"
t_run "$CLUSTER" config porfiles
t_like "$T_ERR" "^cluster: unknown action 'porfiles' \(did you mean 'profiles'\?\)" \
	"a mistyped config action: did you mean"

# --- against a scheduler --------------------------------------------------------
if [ ! -x "$CLUSTER_RANK" ] || ! command -v mpirun >/dev/null; then
	t_skip "the task commands against a scheduler" "no cluster-rank or mpirun"
	t_done
fi
t_spawn timeout 300 mpirun -np 3 --oversubscribe "$CLUSTER_RANK" \
	--set scheduler.host=127.0.0.1 --name T >"$T_DIR/head.log" 2>&1
head=$T_PID
have_workers() {
	[ "$(c workers 2>/dev/null | grep -c alive)" -ge 2 ]
}
wait_for 30 have_workers || t_bail "two workers join" "$(cat "$T_DIR/head.log")"

# --- the task group ---------------------------------------------------------------
t_run c submit --group sweep -- true
t_is "$T_RC" 0 "submit --group: exit 0"
group_id=$T_OUT
t_run c submit --name oldname -- true
old_id=$T_OUT
t_like "$T_ERR" "^cluster: warning: --name after 'submit' is an old spelling of --group" \
	"submit --name still names the group, with a warning"
c wait >/dev/null 2>&1
t_run c tasks --group sweep
t_line "$T_OUT" "^$group_id +done +sweep " "tasks --group lists the group's task"
t_is "$(printf '%s\n' "$T_OUT" | grep -c ' done ')" 1 "tasks --group lists only that group"
t_run c tasks --group oldname
t_like "$T_OUT" "$old_id +done +oldname " "the old spelling set the group"
t_run c help submit
t_like "$T_OUT" "--group NAME" "help submit shows --group"
t_like "$T_OUT" "after it, --name is an old spelling of --group" \
	"help submit says what --name after it is"

# --- dependencies on what submit printed ----------------------------------------
t_run c submit --array 1-3 -- true
range=$T_OUT
t_like "$range" '^[0-9]+-[0-9]+$' "submit --array prints a range"
t_run c submit --after "$range" -- true
t_is "$T_RC" 0 "submit --after takes that range"

# --- a task file's tasks are its group --------------------------------------------
printf 'true\ntrue\n' >"$T_DIR/sweep.txt"
t_run c submit --file "$T_DIR/sweep.txt"
file_ids=$T_OUT
c wait >/dev/null 2>&1
t_run c tasks --group sweep.txt
t_is "$(printf '%s\n' "$T_OUT" | grep -c ' sweep\.txt ')" 2 \
	"submit --file names the group after the file"
t_run c submit --file "$T_DIR/sweep.txt" --group mine
t_like "$T_OUT" '^[0-9]+-[0-9]+$' "submit --file --group"
c wait >/dev/null 2>&1
t_run c tasks --group mine
t_is "$(printf '%s\n' "$T_OUT" | grep -c ' mine ')" 2 "--group wins over the file's name"

# --- the listing -------------------------------------------------------------------
t_run c submit --group quoting -- sh -c 'echo "a b" > /dev/null' "it's"
quoted_id=$T_OUT
c wait >/dev/null 2>&1
t_run c tasks --group quoting
t_line "$T_OUT" "^$quoted_id .* done .* sh -c 'echo \"a b\" > /dev/null' 'it'\\\\''s'\$" \
	"tasks quotes a command as the shell reads it"

t_run c submit --group peak -- dd if=/dev/zero of=/dev/null bs=100M count=1
peak_id=$T_OUT
c wait >/dev/null 2>&1
t_run c tasks --group peak
t_like "$(printf '%s\n' "$T_OUT" | head -1)" " PEAKMEM " "tasks has a peak memory column"
t_like "$(printf '%s\n' "$T_OUT" | awk -v id="$peak_id" '$1 == id { print $9 }')" \
	'^1[0-9][0-9](\.[0-9])?MiB$' "a task's peak memory shows (dd's 100M buffer)"

long=$(printf 'x%.0s' $(seq 1 150))
t_run c submit --group long -- echo "$long"
long_id=$T_OUT
c wait >/dev/null 2>&1
COLUMNS=120 t_run c tasks --group long
long_line=$(printf '%s\n' "$T_OUT" | grep "^$long_id ")
t_like "$long_line" '\.\.\.$' "a command wider than the terminal is cut, with dots"
t_is "$(printf '%s' "$long_line" | wc -m)" 120 "a cut line is as wide as the terminal"
COLUMNS=120 t_run c tasks --group long --wide
t_line "$T_OUT" "^$long_id .* echo $long\$" "tasks --wide prints the whole command"
env -u COLUMNS timeout 60 "$CLUSTER" --name T tasks --group long >"$T_DIR/pipe"
t_line "$(cat "$T_DIR/pipe")" "^$long_id .* echo $long\$" \
	"into a pipe, without COLUMNS, lines are whole"

# One line per group: its tasks in each state, and their ids.
t_run c tasks --summary
t_like "$(printf '%s\n' "$T_OUT" | head -1)" \
	'^GROUP +TASKS +WAITING +QUEUED +RUNNING +DONE +FAILED +CANCELLED +IDS$' \
	"tasks --summary has a header of the states"
t_line "$T_OUT" "^sweep\.txt +2 +0 +0 +0 +2 +0 +0 +${file_ids}\$" \
	"tasks --summary counts a group's tasks by state, with their ids"
t_line "$T_OUT" "^true +[0-9]+ .* ${range%-*}-" "an array's range is one item of the ids"
t_run c tasks --summary --group quoting
t_is "$(printf '%s\n' "$T_OUT" | wc -l)" 2 "tasks --summary --group: one group"

# --- JSON for scripts, with the fields of cluster-api(7) -------------------------
if command -v python3 >/dev/null; then
	t_run c tasks --json
	t_is "$T_RC" 0 "tasks --json: exit 0"
	ntasks=$(c tasks | tail -n +2 | wc -l)
	t_is "$(printf '%s' "$T_OUT" | pyjson 'len(j)')" "$ntasks" \
		"tasks --json: an array of every task"
	t_is "$(printf '%s' "$T_OUT" | pyjson "sorted(set(k for t in j for k in t) & {'id', 'state', 'name', 'argv', 'index', 'attempts', 'worker_name', 'exit_code', 'signal', 'runtime', 'peak_memory', 'reason'}) == sorted({'id', 'state', 'name', 'argv', 'index', 'attempts', 'worker_name', 'exit_code', 'signal', 'runtime', 'peak_memory', 'reason'})")" \
		True "tasks --json: the task objects' fields"
	t_is "$(printf '%s' "$T_OUT" | pyjson "[t['argv'] for t in j if t['id'] == $quoted_id][0]")" \
		"['sh', '-c', 'echo \"a b\" > /dev/null', \"it's\"]" "tasks --json: argv as words"
	t_run c tasks --json --group nosuch
	t_is "$T_OUT" "[]" "tasks --json of nothing: []"
	t_run c tasks --json --summary --group sweep.txt
	t_is "$(printf '%s' "$T_OUT" | pyjson "j[0]['group'], j[0]['tasks'], j[0]['counts']['done'], j[0]['ids']")" \
		"sweep.txt 2 2 $file_ids" "tasks --summary --json: group, tasks, counts, ids"
	t_run c wait --json "$file_ids"
	t_is "$T_RC" 0 "wait --json: exit 0 when all are done"
	t_is "$T_OUT" '{"done":true,"total":2,"counts":{"waiting":0,"queued":0,"running":0,"done":2,"failed":0,"cancelled":0},"assigned":0}' \
		"wait --json prints the last report as the API does"
	t_run c workers --json
	t_is "$(printf '%s' "$T_OUT" | pyjson "len(j), all(w['alive'] for w in j), sorted(j[0])")" \
		"2 True ['alive', 'cores', 'cores_used', 'done', 'draining', 'gpus', 'gpus_used', 'host', 'id', 'job', 'job_end', 'job_index', 'memory', 'memory_used', 'name', 'running', 'walltime_left']" \
		"workers --json: both workers, with their fields"
else
	t_skip "tasks and workers --json" "no python3 to read JSON"
fi

# --- wait --timeout ends at the timeout, not a second later ------------------------
t_run c submit --group sleeper -- sleep 120
sleeper=$T_OUT
start=$EPOCHREALTIME
t_run c wait --timeout 3s "$sleeper"
elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
t_is "$T_RC" 1 "wait --timeout: exit 1 at the timeout"
t_is "$(printf '%s\n' "$T_ERR" | head -n 1)" "cluster: timed out: 1 of 1 task has not ended" \
	"wait --timeout says it timed out, in the singular for one task"
t_like "$T_ERR" $'\ncluster:   task '"$sleeper"' running on [^ ]+ for [0-9.]+s$' \
	"wait --timeout names the task that has not ended"
t_run c wait --json --timeout 1s "$sleeper"
t_is "$T_RC" 1 "wait --json --timeout: exit 1 at the timeout"
if command -v python3 >/dev/null; then
	t_is "$(printf '%s' "$T_OUT" | pyjson "j['done'], j['counts']['running'] + j['counts']['queued']")" \
		"False 1" "wait --json at the timeout: not done, one task still open"
fi
if awk -v e="$elapsed" 'BEGIN { exit !(e >= 2.9 && e < 3.5) }'; then
	t_ok "wait --timeout 3s returns after 3 s ($elapsed s)"
else
	t_fail "wait --timeout 3s returns after 3 s" "took $elapsed s"
fi
c cancel "$sleeper" >/dev/null
t_run c wait "$sleeper"
t_is "$(printf '%s\n' "$T_ERR" | head -n 1)" "cluster: 1 of 1 task failed (0 failed, 1 cancelled)" \
	"wait on one cancelled task: in the singular"

# --- logs of a task that has not run, and logs -f --------------------------------
t_run c submit --group logs -- sleep 30
blocker=$T_OUT
t_run c submit --group logs --after "$blocker" -- echo after
blocked=$T_OUT
t_run c logs "$blocked"
t_is "$T_RC" 1 "logs of a task that has not run: exit 1"
t_is "$T_ERR" "cluster: task $blocked has not run: it is waiting for task $blocker" \
	"logs says it has not run, and why"
t_is "$T_OUT" "" "logs of a task that has not run prints no log"
t_run c submit --group logs -- sh -c 'echo one; sleep 2; echo two'
t_run c logs -f "$T_OUT"
t_is "$T_RC" 0 "logs -f of a task that succeeds: exit 0"
t_is "$T_OUT" $'one\ntwo' "logs -f prints the output until the task ends"
t_run c submit --group logs -- sh -c 'echo partial; sleep 1; exit 3'
failing=$T_OUT
t_run c logs --follow "$failing"
t_is "$T_RC" 1 "logs -f of a task that fails: exit 1"
t_is "$T_OUT" "partial" "logs -f prints what the failed task wrote"
t_like "$T_ERR" "^cluster: task $failing failed" "logs -f says the task failed"
c cancel "$blocker" >/dev/null
t_run c logs "$blocked"
t_like "$T_ERR" "^cluster: task $blocked has not run: it was cancelled" \
	"logs says a cancelled task never ran"
t_run c logs -f "$blocked"
t_is "$T_RC" 1 "logs -f of a task cancelled before it ran: exit 1"
t_like "$T_ERR" "^cluster: task $blocked has not run: it was cancelled" \
	"logs -f says it never ran"

# --- paging: --from, not --after (which is submit's dependency) -----------------
t_run c tasks --from "$old_id" --limit 1
t_line "$T_OUT" "^$old_id " "tasks --from ID starts at that id"
t_is "$(printf '%s\n' "$T_OUT" | wc -l)" 2 "tasks --from ID --limit 1: a header and one row"
t_run c tasks --after 1
t_is "$T_RC" 2 "tasks --after is no longer an option"

t_kill "$head"
t_done
