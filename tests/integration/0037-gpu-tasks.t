#!/bin/bash
# GPUs as task resources, without a GPU: the worker is given device ids
# through CUDA_VISIBLE_DEVICES (3,5) and worker.gpus: 2.  Each task's
# CUDA_VISIBLE_DEVICES names exactly its GPUs, mapped onto the worker's;
# two 1-GPU tasks run at once and a third waits for one of them; a task of
# no GPUs sees none; one asking more GPUs than any worker has waits with a
# reason, like one asking too many cores; task files take gpus=N; a
# node's CUDA_VISIBLE_DEVICES=0,1,2,3 is split 0,1 / 2,3 between two
# worker ranks, and no GPU is given to two running tasks.  Worker
# names carry their batch job (host:JOBID:rankN, host:JOBID_INDEX:rankN),
# while a worker started by hand keeps host:pid.  A fake nvidia-smi stands
# in for the detection where nothing sets CUDA_VISIBLE_DEVICES.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
command -v mpirun >/dev/null || t_bail "mpirun is installed"
command -v jq >/dev/null || t_bail "jq is installed"

host=$(hostname)
c() {
	timeout 60 "$CLUSTER" --name G "$@"
}
# state ID: the task's state.
state() {
	c tasks --json | jq -r ".[] | select(.id == $1) | .state"
}

# One worker rank with more cores than the tasks need, so GPUs alone
# decide what runs at once.  The "batch job" 4242 is the environment's.
t_spawn env CUDA_VISIBLE_DEVICES=3,5 CLUSTER_JOB_ID=4242 \
	timeout 300 mpirun -np 2 "$CLUSTER_RANK" --no-bind --cores 8 \
	--set scheduler.host=127.0.0.1 --set worker.gpus=2 --name G \
	>"$T_DIR/head.out" 2>"$T_DIR/head.err"
wait_for 60 bash -c "grep -q joined '$T_DIR/head.err'" ||
	t_bail "the worker joins" "$(cat "$T_DIR/head.err")"
t_like "$(cat "$T_DIR/head.err")" "worker '$host:4242:rank1' joined .*, 2 GPUs" \
	"the worker of job 4242 is named host:4242:rank1 and offers 2 GPUs"
t_run c workers
t_like "$T_OUT" "^ID +NAME +CORES +GPUS " "workers has a GPUS column"
t_like "$T_OUT" "$host:4242:rank1 +0/8 +0/2 " "workers shows the worker's 2 GPUs, none in use"

# --- two 1-GPU tasks at once, the third waits ------------------------------
# Each writes its CUDA_VISIBLE_DEVICES, then waits for "go".
mkdir -p "$T_DIR/seen"
task='echo "$CUDA_VISIBLE_DEVICES" >'"$T_DIR"'/seen/$CLUSTER_TASK_ID.tmp &&
	mv '"$T_DIR"'/seen/$CLUSTER_TASK_ID.tmp '"$T_DIR"'/seen/$CLUSTER_TASK_ID &&
	while [ ! -e '"$T_DIR"'/go ]; do sleep 0.1; done'
t_run c submit --gpus 1 --array 1-3 -- sh -c "$task"
t_is "$T_OUT" "1-3" "three 1-GPU tasks submitted"
wait_for 60 test -e "$T_DIR/seen/1" -a -e "$T_DIR/seen/2" ||
	t_fail "the first two tasks start" "$(c tasks 2>&1)"
t_ok "two 1-GPU tasks run at once on the 2-GPU worker"
t_is "$(test -e "$T_DIR/seen/3" && echo started)" "" \
	"the third waits while both GPUs are taken"
t_run c workers
t_like "$T_OUT" "$host:4242:rank1 +2/8 +2/2 " "workers shows both GPUs in use"
t_is "$(sort "$T_DIR/seen/1" "$T_DIR/seen/2" | tr '\n' ' ')" "3 5 " \
	"each sees one GPU of the worker's 3,5, and not the same one"
t_is "$(c tasks --json | jq -r '.[] | select(.id == 1) | .gpus')" 1 \
	"the task's JSON says gpus 1"
touch "$T_DIR/go"
t_run c wait 1-3
t_is "$T_RC" 0 "all three end well"
t_like "$(cat "$T_DIR/seen/3" 2>&1)" "^[35]$" "the third got a GPU of the worker's once one was free"

# --- two GPUs, none, too many ----------------------------------------------
t_run c submit --gpus 2 -- sh -c 'printf "%s" "$CUDA_VISIBLE_DEVICES"'
id=$T_OUT
c wait "$id" >/dev/null
t_is "$(c logs "$id")" "3,5" "a 2-GPU task sees both of the worker's GPUs"
t_run c submit -- sh -c 'printf "%s:%s" "${CUDA_VISIBLE_DEVICES+set}" "$CUDA_VISIBLE_DEVICES"'
id=$T_OUT
c wait "$id" >/dev/null
t_is "$(c logs "$id")" "set:" "a task of no GPUs on a GPU worker sees an empty CUDA_VISIBLE_DEVICES"
t_run c submit --env CUDA_VISIBLE_DEVICES=7 --gpus 1 -- sh -c 'printf "%s" "$CUDA_VISIBLE_DEVICES"'
id=$T_OUT
c wait "$id" >/dev/null
t_is "$(c logs "$id")" "7" "the task's own --env still wins"

t_run c submit -- sh -c 'printf "%s" "$CLUSTER_WORKER"'
id=$T_OUT
c wait "$id" >/dev/null
t_is "$(c logs "$id")" "$host:4242:rank1" "the worker's tasks see the name in CLUSTER_WORKER"

t_run c submit --gpus 3 -- true
big=$T_OUT
wait_for 30 bash -c "'$CLUSTER' --name G tasks --json | jq -e '.[] | select(.id == $big) | .reason | test(\"GPU\")' >/dev/null"
t_is "$(c tasks --json | jq -r ".[] | select(.id == $big) | .state + \": \" + .reason")" \
	"queued: waiting for a worker with 1 core and 3 GPUs" \
	"a task asking more GPUs than any worker has waits, and says why"
c cancel "$big" >/dev/null

t_run c submit --gpus 65 -- true
t_is "$T_RC" 2 "--gpus 65: a usage error"
t_like "$T_ERR" "--gpus: expected an integer >= 0 and <= 64, got '65'" "--gpus 65: the error states the range"

# --- a task file with gpus=N (cluster-rank --run) ---------------------------
cat >"$T_DIR/tasks.txt" <<EOT
[gpus=2] printf "%s" "\$CUDA_VISIBLE_DEVICES" > $T_DIR/file-two
[gpus=1 array=1-2] printf "%s" "\$CUDA_VISIBLE_DEVICES" > $T_DIR/file-one.{}
EOT
t_run env CUDA_VISIBLE_DEVICES=3,5 timeout 120 mpirun -np 2 "$CLUSTER_RANK" \
	--no-bind --cores 8 --set scheduler.host=127.0.0.1 --set worker.gpus=2 \
	--name R --run "$T_DIR/tasks.txt"
t_is "$T_RC" 0 "cluster-rank --run of a file with gpus= options: exit 0"
t_is "$(cat "$T_DIR/file-two" 2>&1)" "3,5" "a task file's [gpus=2] gets both GPUs"
t_like "$(cat "$T_DIR/file-one.1" 2>&1) $(cat "$T_DIR/file-one.2" 2>&1)" "^[35] [35]$" \
	"[gpus=1] array elements get one GPU each"

# --- names: an array element's worker, a worker started by hand ------------
t_spawn env CUDA_VISIBLE_DEVICES=3,5 CLUSTER_JOB_ID=4242 CLUSTER_JOB_INDEX=7 \
	timeout 300 mpirun -np 1 "$CLUSTER_RANK" --no-bind --worker-only \
	--gpus 1 --name G >"$T_DIR/elem.out" 2>"$T_DIR/elem.err"
wait_for 60 bash -c "'$CLUSTER' --name G workers | grep -q ':4242_7:rank0 '" ||
	t_fail "the array element's worker joins" "$(cat "$T_DIR/elem.err")"
t_run c workers
t_like "$T_OUT" "$host:4242_7:rank0 +0/[0-9]+ +0/1 " \
	"an array element's worker is host:JOBID_INDEX:rank0, with the 1 GPU --gpus gave it"

# A fake nvidia-smi: two GPUs where nothing sets CUDA_VISIBLE_DEVICES.
mkdir -p "$T_DIR/bin"
cat >"$T_DIR/bin/nvidia-smi" <<'EOS'
#!/bin/sh
[ "$1" = -L ] || exit 1
echo "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-11111111-2222-3333-4444-555555555555)"
echo "GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-66666666-7777-8888-9999-000000000000)"
EOS
chmod +x "$T_DIR/bin/nvidia-smi"
t_spawn env -u CUDA_VISIBLE_DEVICES PATH="$T_DIR/bin:$PATH" \
	"$CLUSTER" --name G worker --cores 1 >"$T_DIR/hand.out" 2>"$T_DIR/hand.err"
hand=$T_PID
wait_for 60 bash -c "'$CLUSTER' --name G workers | grep -q ' $host:$hand '" ||
	t_fail "a worker started by hand joins" "$(cat "$T_DIR/hand.err")"
t_run c workers
t_like "$T_OUT" " $host:$hand +0/1 +0/2 " \
	"a worker started by hand keeps host:pid and finds nvidia-smi's 2 GPUs"
t_kill "$hand"

# --- a node's GPUs split between two worker ranks ---------------------------
# CUDA_VISIBLE_DEVICES=0,1,2,3 and worker.gpus auto: ranks 1 and 2 take
# 0,1 and 2,3.  Four 1-GPU tasks run at once, one per GPU; a 2-GPU task
# then gets one worker's pair.
t_spawn env CUDA_VISIBLE_DEVICES=0,1,2,3 \
	timeout 300 mpirun -np 3 "$CLUSTER_RANK" --no-bind --cores 8 \
	--set scheduler.host=127.0.0.1 --name S \
	>"$T_DIR/split.out" 2>"$T_DIR/split.err"
s_workers() {
	[ "$("$CLUSTER" --name S workers 2>/dev/null | grep -c ' 0/2 ')" -eq 2 ]
}
wait_for 60 s_workers || t_bail "two workers of 2 GPUs join" "$(cat "$T_DIR/split.err")"
t_ok "auto splits the node's 4 GPUs between its 2 worker ranks"
mkdir -p "$T_DIR/split"
task='echo "$CLUSTER_WORKER $CUDA_VISIBLE_DEVICES" >'"$T_DIR"'/split/$CLUSTER_TASK_ID.tmp &&
	mv '"$T_DIR"'/split/$CLUSTER_TASK_ID.tmp '"$T_DIR"'/split/$CLUSTER_TASK_ID &&
	while [ ! -e '"$T_DIR"'/split-go ]; do sleep 0.1; done'
t_run timeout 60 "$CLUSTER" --name S submit --gpus 1 --array 1-4 -- sh -c "$task"
t_run timeout 60 "$CLUSTER" --name S submit --gpus 2 -- sh -c "$task"
wait_for 60 bash -c "ls '$T_DIR/split' | grep -c '^[1-4]\$' | grep -qx 4" ||
	t_fail "four 1-GPU tasks run at once on two 2-GPU workers" "$(ls "$T_DIR/split")"
t_is "$(test -e "$T_DIR/split/5" && echo started)" "" "the 2-GPU task waits while all four GPUs are taken"
t_is "$(cat "$T_DIR"/split/[1-4] | sort | tr '\n' ' ')" \
	"$host:rank1 0 $host:rank1 1 $host:rank2 2 $host:rank2 3 " \
	"each 1-GPU task sees one GPU of its worker's share, none given twice"
touch "$T_DIR/split-go"
t_run timeout 120 "$CLUSTER" --name S wait 1-5
t_is "$T_RC" 0 "all five end well"
t_like "$(cat "$T_DIR/split/5" 2>&1)" "^($host:rank1 0,1|$host:rank2 2,3)$" \
	"the 2-GPU task sees both GPUs of the worker it ran on"

# --- a worker asked for more GPUs than it is given ------------------------
t_run env CUDA_VISIBLE_DEVICES=3,5 timeout 60 "$CLUSTER" --name G worker --gpus 4
t_is "$T_RC" 2 "worker --gpus 4 with 2 visible: exit 2"
t_like "$T_ERR" "worker.gpus = 4, but CUDA_VISIBLE_DEVICES names 2 GPUs; ask for at most 2 or auto" \
	"and the error says how many CUDA_VISIBLE_DEVICES names"
t_run env CUDA_VISIBLE_DEVICES=3,5 timeout 60 "$CLUSTER" --name G worker --gpus lots
t_is "$T_RC" 2 "worker --gpus lots: exit 2"
t_like "$T_ERR" "expected auto or a count of GPUs from 0 to 64, got 'lots'" \
	"and the error says what --gpus takes"

t_done
