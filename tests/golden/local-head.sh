#!/bin/bash
export CLUSTER_JOB_ID=$$
export CLUSTER_JOB_INDEX="${CLUSTER_JOB_INDEX:--1}"
export CLUSTER_JOB_END="${CLUSTER_JOB_END:-0}"
# memory: 1073741824 bytes a node (1 GiB), each worker's limit 536870912 bytes (512 MiB)
mpirun "--mca" "btl" "self,tcp" -np 3 --oversubscribe '/opt/cluster/bin/cluster-rank' --name 'default' --profile 'small' --cores '1' --memory '536870912'
