#!/bin/bash
# The job scripts of every bundled profile, as `cluster job-script` prints
# them, against the files in tests/golden/sites/: head and worker jobs, on
# one node and on three.  A change to a profile, a template or the
# renderer shows here as a difference to review.
#
# The state directory and the folder of cluster-rank differ from run to
# run; they are written @CLUSTER_HOME@ and @BINDIR@ in the files.  No
# account variable leaks in from the environment.
#
# CLUSTER_UPDATE_GOLDEN=1 rewrites the files instead of comparing them;
# review the difference before committing it.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER (run make BUILD=... all)"
unset PBS_ACCOUNT SLURM_ACCOUNT

golden=$T_ROOT/tests/golden/sites
bindir=$(dirname "$CLUSTER")

# The file name's extension says the batch system, as in tests/golden/.
ext() {
	case $1 in
	local) echo sh ;;
	generic-slurm) echo slurm ;;
	*) echo pbs ;;
	esac
}

profiles=$("$CLUSTER" config profiles | sed -n 's/^\([a-z][a-z0-9-]*\)$/\1/p')
t_like "$profiles" "casper" "config profiles lists the bundled profiles"

for profile in $profiles; do
	for role in head worker; do
		for nodes in 1 3; do
			name=$profile-$role-$nodes.$(ext "$profile")
			t_run "$CLUSTER" --profile "$profile" --name default \
				--set job.nodes="$nodes" job-script --role "$role"
			if [ "$T_RC" -ne 0 ]; then
				t_fail "$name: job-script renders it" "$T_ERR"
				continue
			fi
			got=${T_OUT//"$CLUSTER_HOME"/@CLUSTER_HOME@}
			got=${got//"$bindir"/@BINDIR@}
			if [ "${CLUSTER_UPDATE_GOLDEN:-0}" = 1 ]; then
				mkdir -p "$golden"
				printf '%s\n' "$got" >"$golden/$name"
			fi
			if [ ! -f "$golden/$name" ]; then
				t_fail "$name: golden file exists" "$got"
				continue
			fi
			want=$(cat "$golden/$name")
			if [ "$got" = "$want" ]; then
				t_ok "$name matches the rendered script"
			else
				t_fail "$name differs from the rendered script" \
					"$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got"))"
			fi
		done
	done
done

# Every golden file belongs to a profile that still exists.
for f in "$golden"/*; do
	[ -e "$f" ] || continue
	base=$(basename "$f")
	t_like " $(echo $profiles) " " ${base%-*-*} " "$base belongs to a bundled profile"
done

t_done
