#!/bin/bash
export CLUSTER_HOME='@CLUSTER_HOME@'
mpirun -np 3 --oversubscribe '@BINDIR@/cluster-rank' --name 'default' --profile 'local' --cores '1' --memory '2147483648' --set 'job.nodes=1'
