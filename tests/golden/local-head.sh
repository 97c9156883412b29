#!/bin/bash
mpirun "--mca" "btl" "self,tcp" -np 3 --oversubscribe '/opt/cluster/bin/cluster-rank' --name 'default' --profile 'small' --cores '1' --memory '536870912'
