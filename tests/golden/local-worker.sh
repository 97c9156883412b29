#!/bin/bash
mpirun "--mca" "btl" "self,tcp" -np 2 '/opt/cluster/bin/cluster-rank' --worker-only --name 'default'
