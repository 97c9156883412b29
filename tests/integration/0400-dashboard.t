#!/bin/bash
# The dashboard in a real browser (Debian's chromium, headless) against a
# running head job after a known workload: the status page with the
# token's link shows each task name with its counts, without the token it
# says what to do, its files name no other origin and the browser can
# reach none; the workers page shows a batch job's worker with its host,
# job, walltime left and counts; the link status prints follows
# dashboard.link (JupyterHub's proxy form, casper's, the direct link when
# a variable is unset) and a bad template is refused with what to fix;
# /metrics parses as Prometheus text (promtool) with the pool's families
# at zero; and the same page and its JSON load behind nginx serving it
# under /user/NAME/proxy/PORT/; `cluster top --once` prints the same
# counts, the time per action and the workers' hosts and jobs as plain
# text, and in a terminal (tmux) it switches lists on j and w and quits
# on q.  The time per action has its five actions in a task's order
# (queue wait, dispatch, spawn, run, output) in the JSON, the stream, the
# page, top and /metrics, spawn and run above zero after the workload.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
command -v mpirun >/dev/null || t_bail "mpirun is installed"
command -v curl >/dev/null || t_bail "curl is installed"

c() {
	timeout 60 "$CLUSTER" --name D "$@"
}

# chromium_shot URL FILE: the page as a PNG, kept after the test under
# $CLUSTER_BUILD/artefacts/ (the DOM checks say what it shows; the picture
# is for a person looking at a failure)
shots=$CLUSTER_BUILD/artefacts/$T_NAME
chromium_shot() {
	mkdir -p "$shots"
	chromium_run --virtual-time-budget=6000 --window-size=1280,900 \
		--hide-scrollbars --screenshot="$shots/$2" "$1" >/dev/null
}

t_spawn timeout 300 mpirun -np 3 --oversubscribe "$CLUSTER_RANK" \
	--set scheduler.host=127.0.0.1 --name D >"$T_DIR/head.log" 2>&1
head=$T_PID
wait_for 30 test -s "$CLUSTER_HOME/D/address" ||
	t_bail "the head publishes its address" "$(cat "$T_DIR/head.log")"
have_workers() {
	[ "$(c workers 2>/dev/null | grep -c alive)" -ge 2 ]
}
wait_for 30 have_workers || t_bail "two workers join" "$(cat "$T_DIR/head.log")"
port=$(sed -n 's/.*"http_port": *\([0-9]*\).*/\1/p' "$CLUSTER_HOME/D/address")
token=$(cat "$CLUSTER_HOME/D/token")
base=http://127.0.0.1:$port

# --- a known workload: 6 tasks of alpha done, 2 of beta failed ---------------
c submit --group alpha --array 1-6 -- true >/dev/null
c submit --group beta --array 1-2 -- false >/dev/null
t_run c wait 1-8
t_is "$T_RC" 1 "the workload ran (two tasks failed)"

# --- the link that status prints ----------------------------------------------
t_run c status
t_like "$T_OUT" "dashboard +http://[^ ]*:$port/status#token=$token" \
	"status prints the dashboard's link with the token"

# --- the link from the profile's dashboard.link ----------------------------------
cat >"$T_DIR/link.yaml" <<'EOT'
dashboard:
  link: 'https://hub.example.org${JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/status'
EOT
t_run env CLUSTER_CONFIG="$T_DIR/link.yaml" JUPYTERHUB_SERVICE_PREFIX=/user/some\ one/ \
	"$CLUSTER" --name D status
t_like "$T_OUT" "dashboard +https://hub.example.org/user/some%20one/proxy/$port/status#token=$token" \
	"status prints dashboard.link expanded, the value's space quoted"
t_run env -u JUPYTERHUB_SERVICE_PREFIX CLUSTER_CONFIG="$T_DIR/link.yaml" \
	"$CLUSTER" --name D status
t_like "$T_OUT" "dashboard +http://[^ ]*:$port/status#token=$token" \
	"with the variable unset (no JupyterHub), the direct link"
t_run env USER=someone "$CLUSTER" --name D \
	--set 'dashboard.link=https://h/user/{USER}/proxy/{host}:{port}/#x' status
t_like "$T_OUT" "dashboard +https://h/user/someone/proxy/[^ ]+:$port/#x&token=$token" \
	"{USER} and {host} expand, and a link with a fragment gets &token="
t_run env JUPYTERHUB_SERVICE_PREFIX=/stable/user/someone/ \
	"$CLUSTER" --name D --profile casper status
t_like "$T_OUT" "dashboard +https://jupyterhub.hpc.ucar.edu/stable/user/someone/proxy/$port/status#token=$token" \
	"the casper profile prints NCAR JupyterHub's proxy link"
t_run "$CLUSTER" --name D --set 'dashboard.link=http://{hots}:{port}/' status
t_is "$T_RC" 1 "status with a bad dashboard.link: exit 1"
t_like "$T_ERR" "unknown placeholder '\{hots\}' \(did you mean '\{host\}'\?\)" \
	"it names the placeholder, with a did-you-mean"
t_like "$T_OUT" "dashboard +http://[^ ]*:$port/status#token=" "and prints the direct link"
t_run timeout 60 "$CLUSTER" --name D2 --profile local --set 'dashboard.link={scheme}://x' start
t_is "$T_RC" 2 "start with a bad dashboard.link: exit 2"
t_like "$T_ERR" "dashboard.link: unknown placeholder '\{scheme\}'" "with what to fix"
t_check "and it started nothing" test ! -e "$CLUSTER_HOME/D2/address"

# --- a worker of a batch job (as a job script's environment says) ---------------
end=$(( $(date +%s) + 7200 ))
CLUSTER_JOB_ID=4242 CLUSTER_JOB_INDEX=3 CLUSTER_JOB_END=$end \
	t_spawn timeout 250 "$CLUSTER" --name D worker --name jobworker --cores 1 \
	>"$T_DIR/jobworker.log" 2>&1
have_three() {
	[ "$(c workers 2>/dev/null | grep -c alive)" -ge 3 ]
}
wait_for 30 have_three || t_bail "the job's worker joins" "$(cat "$T_DIR/jobworker.log")"

# --- the JSON the page reads ----------------------------------------------------
auth="Authorization: Bearer $token"
t_like "$(curl -s -H "$auth" "$base/api/v1/progress")" \
	'"done":6,"failed":0,"cancelled":0,"name":"alpha"' "progress counts alpha"
t_like "$(curl -s -H "$auth" "$base/api/v1/stream?since=0")" '"kind":"stop"' \
	"the stream has the runs' ends"
t_is "$(curl -s -H "$auth" "$base/api/v1/stream?since=0" | python3 -c '
import json, sys
j = json.load(sys.stdin)
stops = [e for e in j["events"] if e["kind"] == "stop"]
print(len(stops), sorted(set((e["name"], e["state"]) for e in stops)),
      all(e["run"] >= 0 and e["start"] <= e["time"] for e in stops),
      j["cursor"] == j["events"][-1]["seq"])')" \
	"8 [('alpha', 'done'), ('beta', 'failed')] True True" \
	"the stream parses as JSON: 8 ends with names, states and times"
t_is "$(curl -s -H "$auth" "$base/api/v1/stream?since=0" | python3 -c '
import json, sys
stops = [e for e in json.load(sys.stdin)["events"] if e["kind"] == "stop"]
acts = ["queue_wait", "dispatch", "spawn", "run", "output"]
print([k for k in stops[0] if k in acts],
      all(e["spawn"] > 0 and e["run"] > 0 and e["output"] >= 0 for e in stops),
      all(e["dispatch"] + e["spawn"] + e["run"] + e["output"] <=
          e["time"] - e["start"] + 1e-3 for e in stops))')" \
	"['queue_wait', 'dispatch', 'spawn', 'run', 'output'] True True" \
	"each end has the five actions, spawn and run above 0, within its run's time"
t_is "$(curl -s -H "$auth" "$base/api/v1/actions" | python3 -c '
import json, sys
a = json.load(sys.stdin)["actions"]
print(list(a), a["spawn"]["seconds"] > 0, a["run"]["seconds"] > 0,
      a["output"]["seconds"] >= 0, set(v["runs"] for v in a.values()))')" \
	"['queue_wait', 'dispatch', 'spawn', 'run', 'output'] True True True {8}" \
	"/api/v1/actions sums the five actions in order over the 8 runs"
t_is "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/v1/stream")" 401 \
	"the stream needs the token"
t_is "$(curl -s -o /dev/null -w '%{http_code}' "$base/status")" 200 \
	"the page does not"
t_like "$(curl -si "$base/")" "Location: status" "/ sends on to status, relatively"

# --- the page in a browser ------------------------------------------------------
dom=$(chromium_dom "$base/status#token=$token")
row() {	# the progress row of NAME, as "name w q r d f c"
	printf '%s' "$dom" | grep -o "<tr><td>$1</td>.*" | sed 's|</tr>.*||' |
		grep -o 'data-state="[a-z]*">[0-9]*' | sed 's/.*>//' | tr '\n' ' '
}
t_is "$(row alpha)" "0 0 0 6 0 0 " "the status page shows alpha: 6 done"
t_is "$(row beta)" "0 0 0 0 2 0 " "and beta: 2 failed"
t_like "$dom" "tasks: 0 waiting, 0 queued, 0 running, 6 done, 2 failed" \
	"and the totals"
t_unlike "$dom" 'id="notice">[^<]' "and no notice"
dom=$(chromium_dom "$base/individual-progress#token=$token")
t_like "$dom" "<td>alpha</td>" "/individual-progress shows the progress too"
dom=$(chromium_dom "$base/individual-aggregate-time-per-action#token=$token")
t_is "$(printf '%s' "$dom" | grep -o 'data-action="[a-z_]*"' | sed 's/.*="//; s/"//' | tr '\n' ' ')" \
	"queue_wait dispatch spawn run output " \
	"/individual-aggregate-time-per-action shows the five actions in order"
seconds() {	# the panel's seconds of ACTION
	printf '%s' "$dom" | grep -o "data-action=\"$1\">.*" | sed 's|</tr>.*||' |
		grep -o 'data-field="seconds">[^<]*' | sed 's/.*>//'
}
t_like "$(seconds spawn)" "^[0-9.]+ m?s$" "with the seconds spawn took"
t_unlike "$(seconds spawn)" "^0 s$" "above zero"
t_unlike "$(seconds run)" "^0 s$" "and the seconds the commands ran, above zero"
t_like "$dom" 'data-action="run">.*8 runs' "over the 8 runs"
t_like "$dom" 'data-action="spawn">.*<span data-w="[0-9.]+" data-bg="hsl[^"]*" style="width: [0-9.]+%' \
	"its bars get their widths through the DOM, which the page's policy allows"
dom=$(chromium_dom "$base/workers#token=$token")
wrow() {	# the workers panel's row of NAME
	printf '%s' "$dom" | grep -o "<tr data-worker=[^>]*><td>$1</td>.*" | sed 's|</tr>.*||'
}
cell() {	# FIELD of row $r
	printf '%s' "$r" | grep -o "data-field=\"$1\">[^<]*" | sed 's/.*>//'
}
r=$(wrow jobworker)
t_is "$(cell host)" "$(hostname)" "/workers shows the job's worker's host"
t_is "$(cell job)" "4242[3]" "and its batch job and element"
t_like "$(cell left)" "^(1\.9|2\.0) h$" "and the walltime its job has left"
t_is "$(cell cores)/$(cell running)/$(cell done)" "0/1/0/0" "and its cores in use, tasks running and done"
t_is "$(cell draining)" "" "and that it is not draining"
done_ranks=0
for w in $(printf '%s' "$dom" | grep -o '<td>[^<]*:rank[12]</td>' | sed 's|<td>||; s|</td>||'); do
	r=$(wrow "$w")
	done_ranks=$((done_ranks + $(cell done)))
done
t_is "$done_ranks" 8 "the ranks' rows count the 8 tasks done"
dom=$(chromium_dom "$base/status")
t_like "$dom" "needs the cluster's token" "without the token the page says so"
t_like "$dom" "cluster status" "and what to run for the link"
rm -rf "$shots"
for page in status individual-task-stream individual-progress \
	individual-workers-memory individual-aggregate-time-per-action workers pool; do
	chromium_shot "$base/$page#token=$token" "$page.png"
done
n=0
for f in "$shots"/*.png; do
	[ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
		[ "$(stat -c %s "$f")" -gt 5000 ] && n=$((n + 1))
done
t_is "$n" 7 "a screenshot of each of the 7 pages is kept in ${shots#"$T_ROOT"/}"

# --- nothing from another origin ------------------------------------------------
src=$(for f in status dashboard.js dashboard.css; do curl -s "$base/$f"; done)
t_unlike "$src" '(https?|wss?|ftp):|(src|href|action)="/|url\(' \
	"the dashboard's files name no other origin and no absolute path"
t_like "$(curl -si "$base/status")" "Content-Security-Policy: default-src 'none'" \
	"and its policy keeps the page to its origin"

# --- /metrics ---------------------------------------------------------------------
curl -s -H "$auth" "$base/metrics" >"$T_DIR/metrics"
bad=$(grep -cvE '^(#.*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? [-+]?([0-9.]+([eE][-+]?[0-9]+)?|NaN|Inf))$' \
	"$T_DIR/metrics")
t_is "$bad" 0 "every /metrics line is a comment or 'name{labels} value'"
t_like "$(cat "$T_DIR/metrics")" 'cluster_tasks\{state="done"\} 6' \
	"/metrics counts the done tasks"
t_like "$(cat "$T_DIR/metrics")" 'cluster_pool_jobs\{state="running"\} 0' \
	"and a family with nothing in it is still there"
t_like "$(cat "$T_DIR/metrics")" 'cluster_pool_submit_failures_total\{kind="permanent"\} 0' \
	"the pool's submit failures are there by kind, at zero"
t_like "$(cat "$T_DIR/metrics")" 'cluster_pool_poll_errors_total 0' \
	"and its poll errors"
t_like "$(cat "$T_DIR/metrics")" 'cluster_pool_target_workers [0-9]' \
	"and its target"
t_is "$(sed -n 's/^cluster_action_seconds_total{action="\([a-z_]*\)"} .*/\1/p' \
	"$T_DIR/metrics" | tr '\n' ' ')" "queue_wait dispatch spawn run output " \
	"/metrics has the seconds of the five actions"
positive() {	# the value of metric line KEY is above 0
	awk -v k="$1" '$1 == k { found = 1; ok = $2 > 0 } END { exit !(found && ok) }' \
		"$T_DIR/metrics"
}
t_check "spawn's above 0" positive 'cluster_action_seconds_total{action="spawn"}'
t_check "run's above 0" positive 'cluster_action_seconds_total{action="run"}'
t_is "$(awk '$1 == "cluster_action_seconds_total{action=\"run\"}" { r = $2 }
	$1 == "cluster_task_runtime_seconds_sum" { s = $2 } END { print (r == s) }' \
	"$T_DIR/metrics")" 1 "and the runtime summary sums the run action"
if command -v promtool >/dev/null; then
	t_run promtool check metrics <"$T_DIR/metrics"
	t_is "$T_RC" 0 "promtool check metrics accepts /metrics${T_ERR:+ ($T_ERR)}"
else
	t_skip "promtool check metrics" "no promtool (Debian's prometheus)"
fi
t_is "$(curl -s -o /dev/null -w '%{http_code}' "$base/metrics")" 401 \
	"/metrics needs the token"

# --- behind a proxy that strips /user/NAME/proxy/PORT/ ----------------------------
if command -v nginx >/dev/null; then
	nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	mkdir -p "$T_DIR/nginx"
	cat >"$T_DIR/nginx/nginx.conf" <<EOT
daemon off;
worker_processes 1;
pid $T_DIR/nginx/nginx.pid;
error_log $T_DIR/nginx/error.log;
events { worker_connections 64; }
http {
	access_log $T_DIR/nginx/access.log;
	client_body_temp_path $T_DIR/nginx/body;
	proxy_temp_path $T_DIR/nginx/proxy;
	fastcgi_temp_path $T_DIR/nginx/fastcgi;
	uwsgi_temp_path $T_DIR/nginx/uwsgi;
	scgi_temp_path $T_DIR/nginx/scgi;
	server {
		listen 127.0.0.1:$nport;
		location /user/someone/proxy/$port/ {
			proxy_pass http://127.0.0.1:$port/;
		}
	}
}
EOT
	t_spawn nginx -p "$T_DIR/nginx" -c "$T_DIR/nginx/nginx.conf"
	wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$nport/" ||
		t_bail "nginx starts" "$(cat "$T_DIR/nginx/error.log")"
	pbase=http://127.0.0.1:$nport/user/someone/proxy/$port
	t_like "$(curl -si "$pbase/")" "Location: status" \
		"through the proxy, / sends on to status"
	dom=$(chromium_dom "$pbase/status#token=$token")
	t_is "$(row alpha)" "0 0 0 6 0 0 " "through the proxy the page shows alpha"
	t_like "$(cat "$T_DIR/nginx/access.log")" \
		"GET /user/someone/proxy/$port/api/v1/progress HTTP/1.1\" 200" \
		"and its JSON came through the prefix"
	t_unlike "$(cat "$T_DIR/nginx/access.log")" "token=" \
		"and the token is in no URL"
else
	t_skip "the page behind a proxy" "no nginx"
fi

# --- cluster top --once ------------------------------------------------------------
t_run c top --once
t_is "$T_RC" 0 "top --once: exit 0"
t_like "$T_OUT" "tasks +0 waiting, 0 queued, 0 running, 6 done, 2 failed, 0 cancelled" \
	"top counts the tasks"
t_like "$T_OUT" "workers +3 joined" "and the workers"
t_is "$(printf '%s\n' "$T_OUT" | grep -c ':rank[12] ')" 2 "and lists both ranks"
act='[0-9.]+ m?s'
t_like "$T_OUT" "actions +queue wait $act, dispatch $act, spawn $act, run $act, output $act \(8 runs\)" \
	"and the time per action, its five actions as the dashboard's panel sums them"
t_unlike "$T_OUT" "spawn 0 s|run 0 s" "spawn and run above zero"
t_like "$T_OUT" "ID +NAME +HOST +JOB +CORES +MEMORY +RUNNING +DONE +WALLTIME" \
	"the workers' list has host, job and walltime columns"
t_like "$T_OUT" "jobworker +$(hostname) +4242\[3\] +0/1 .* (01:59:[0-9][0-9]|02:00:00)" \
	"and the job's worker's row fills them"
t_unlike "$T_OUT" "$(printf '\033')" "plain text without a terminal"
t_run c top --once --jobs
t_like "$T_OUT" "JOB +STATE" "top --jobs lists the jobs instead"

# --- cluster top in a terminal (tmux) ------------------------------------------------
if command -v tmux >/dev/null; then
	sock=$T_DIR/tmux.sock
	trap 'tmux -S "$sock" kill-server 2>/dev/null; t_cleanup' EXIT
	pane() {
		tmux -S "$sock" capture-pane -p -t top 2>/dev/null
	}
	shows() {	# REGEX: the pane shows it
		pane | grep -Eq "$1"
	}
	tmux -S "$sock" new-session -d -s top -x 160 -y 40 \
		"env CLUSTER_HOME='$CLUSTER_HOME' HOME='$HOME' '$CLUSTER' --name D top -d 1"
	wait_for 20 shows 'workers +3 joined'
	t_check "top in a terminal draws the summary" shows 'workers +3 joined'
	t_check "with its keys" shows '\[w\] workers  \[j\] jobs  \[q\] quit'
	t_check "and the workers" shows 'jobworker +[^ ]+ +4242\[3\]'
	tmux -S "$sock" send-keys -t top j
	wait_for 10 shows 'JOB +STATE +WORKERS'
	t_check "j lists the jobs" shows 'JOB +STATE +WORKERS'
	tmux -S "$sock" send-keys -t top w
	wait_for 10 shows 'ID +NAME +HOST'
	t_check "w the workers again" shows 'ID +NAME +HOST'
	tmux -S "$sock" send-keys -t top q
	gone() {
		! tmux -S "$sock" has-session -t top 2>/dev/null
	}
	wait_for 10 gone
	t_check "q quits" gone
	tmux -S "$sock" kill-server 2>/dev/null
else
	t_skip "cluster top in a terminal" "no tmux"
fi

# --- a name the stream's JSON must quote -----------------------------------------
id=$(c submit --group 'we"ird\ <name>' -- true)
c wait "$id" >/dev/null
t_is "$(curl -s -H "$auth" "$base/api/v1/stream?since=0" | python3 -c '
import json, sys
print([e["name"] for e in json.load(sys.stdin)["events"] if e["task"] == int(sys.argv[1])])' "$id")" \
	"['we\"ird\\\\ <name>', 'we\"ird\\\\ <name>']" \
	"the stream quotes a name with a quote and a backslash"

t_kill "$head" 2>/dev/null
t_done
