#!/bin/bash
# make install PREFIX=...: the installed cluster finds its profiles and
# job-script templates relative to its own PREFIX, not the source tree,
# and the man pages, templates and profiles are all there.
. "$(dirname "$0")/lib.sh"

prefix=$T_DIR/prefix
t_run make -s -C "$T_ROOT" BUILD="$CLUSTER_BUILD" PREFIX="$prefix" install
t_is "$T_RC" 0 "make install PREFIX=... succeeds"

for f in bin/cluster bin/cluster-rank share/man/man1/cluster.1 \
	share/man/man1/cluster-rank.1 share/man/man5/cluster.yaml.5 \
	share/man/man7/cluster-api.7 share/man/man7/cluster-protocol.7 \
	share/cluster/profiles/casper.yaml share/cluster/profiles/derecho.yaml \
	share/cluster/jobscripts/pbs.sh share/cluster/jobscripts/slurm.sh; do
	t_check "installed $f" test -s "$prefix/$f"
done

# Move the installed tree: it must still find its data next to itself.
mv "$prefix" "$T_DIR/moved"
prefix=$T_DIR/moved
t_run "$prefix/bin/cluster" config profiles
t_is "$T_RC" 0 "the moved cluster lists its profiles"
t_like "$T_OUT" "$prefix/share/cluster/profiles/casper.yaml" \
	"profiles come from PREFIX/share/cluster/profiles"

# A template only the installed copy has proves where templates come from.
sed 's/^@DIRECTIVES@$/# installed template\n@DIRECTIVES@/' \
	"$prefix/share/cluster/jobscripts/pbs.sh" >"$T_DIR/pbs.sh"
cp "$T_DIR/pbs.sh" "$prefix/share/cluster/jobscripts/pbs.sh"
t_run "$prefix/bin/cluster" --profile casper job-script --role worker
t_is "$T_RC" 0 "the moved cluster renders a Casper job script"
t_like "$T_OUT" "# installed template" "templates come from PREFIX/share/cluster/jobscripts"
t_like "$T_OUT" "$prefix/bin/cluster-rank" "the launch line names the installed cluster-rank"

t_done
