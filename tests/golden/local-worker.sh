#!/bin/bash
export CLUSTER_JOB_ID=$$
export CLUSTER_JOB_INDEX="${CLUSTER_JOB_INDEX:--1}"
export CLUSTER_JOB_END="${CLUSTER_JOB_END:-0}"
mpirun "--mca" "btl" "self,tcp" -np 2 '/opt/cluster/bin/cluster-rank' --worker-only --name 'default' --profile 'small' --cores '1' --memory '536870912'
