#!/bin/bash
export CLUSTER_JOB_ID=$$
export CLUSTER_JOB_INDEX="${CLUSTER_JOB_INDEX:--1}"
export CLUSTER_JOB_END="${CLUSTER_JOB_END:-0}"
# memory: 1073741824 bytes a node (1 GiB), each worker's limit 536870912 bytes (512 MiB)
cluster_verdict="${CLUSTER_HOME:-$HOME/.cluster}"/'default'/verdict."$CLUSTER_JOB_ID"
if [ "${CLUSTER_JOB_INDEX:--1}" != -1 ]; then cluster_verdict="${cluster_verdict}_$CLUSTER_JOB_INDEX"; fi
rm -f "$cluster_verdict".rank*
mpirun "--mca" "btl" "self,tcp" -np 2 '/opt/cluster/bin/cluster-rank' --worker-only --name 'default' --profile 'small' --cores '1' --memory '536870912'
cluster_status=$?
# why worker ranks gave up, which the launcher's status may not carry
for cluster_f in "$cluster_verdict".rank*; do
	if [ "$cluster_status" = 0 ] && [ -s "$cluster_f" ]; then read -r cluster_status <"$cluster_f"; fi
	rm -f "$cluster_f"
done
trap 'exit "$cluster_status"' EXIT
