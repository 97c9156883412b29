#!/bin/bash
mpirun "--mca" "btl" "self,tcp" -np 2 '/opt/cluster/bin/cluster-rank' --worker-only --name 'default' --profile 'small' --cores '1' --memory '536870912'
