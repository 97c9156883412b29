#!/bin/bash
export CLUSTER_HOME='@CLUSTER_HOME@'
mpirun -np 6 '@BINDIR@/cluster-rank' --worker-only --name 'default' --profile 'local' --cores '1' --memory '2147483648' --set 'job.nodes=3'
