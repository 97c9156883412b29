#!/bin/bash
export CLUSTER_JOB_ID=$$
export CLUSTER_JOB_INDEX="${CLUSTER_JOB_INDEX:--1}"
export CLUSTER_JOB_END="${CLUSTER_JOB_END:-0}"
# memory: 4294967296 bytes a node (4 GiB), each worker's limit 2147483648 bytes (2 GiB)
export CLUSTER_HOME='@CLUSTER_HOME@'
# Open MPI 4 and 5 name the switch that keeps the other ranks running differently
case $(mpirun --version 2>/dev/null) in
*"Open MPI) "[1-4].*) cluster_mca=--mca cluster_recovery=orte_enable_recovery ;;
*) cluster_mca=--prtemca cluster_recovery=prte_enable_recovery ;;
esac
mpirun "$cluster_mca" "$cluster_recovery" 1 -np 3 --oversubscribe '@BINDIR@/cluster-rank' --name 'default' --profile 'local' --cores '1' --memory '2147483648' --set 'job.nodes=1'
