#!/bin/bash
# cluster(1) documents every subcommand in the command table, and nothing
# that is not there: the page and `cluster help` cannot drift apart.
cd "$(dirname "$0")/../.."
cluster=${CLUSTER_BUILD:-$PWD/build}/bin/cluster
n=0 bad=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $*"; }

commands=$("$cluster" help | sed -n '/^commands:/,/^$/p' | awk 'NF && !/^commands:/ {print $1}')
[ -n "$commands" ] && ok "cluster help lists commands" || nok "cluster help lists commands"

# Subcommand sections in the page: ".SS cluster NAME ...".
documented=$(sed -n 's/^\.SS "*cluster \([a-z-]*\).*/\1/p' man/cluster.1 | sort -u)
for c in $commands; do
	if echo "$documented" | grep -qx "$c"; then
		ok "cluster(1) documents '$c'"
	else
		nok "cluster(1) documents '$c'"
	fi
done
for d in $documented; do
	if echo "$commands" | grep -qx "$d"; then
		ok "'$d' in cluster(1) is a real command"
	else
		nok "'$d' in cluster(1) is a real command"
	fi
done
# Every option in a command's usage line appears in its section of the page.
for c in $commands; do
	section=$(sed -n "/^\.SS \"*cluster $c /,/^\.S[SH]/p; /^\.SS \"*cluster $c\"*\$/,/^\.S[SH]/p" man/cluster.1 | sed 's/\\-/-/g')
	missing=
	for o in $("$cluster" help "$c" | sed -n '/^usage:/,/^$/p' | grep -o -- '--[a-z-]*' | sort -u); do
		echo "$section" | grep -qF -- "$o" || missing="$missing $o"
	done
	if [ -z "$missing" ]; then
		ok "cluster(1) describes every option of '$c'"
	else
		nok "cluster(1) describes every option of '$c' (missing:$missing)"
	fi
done
[ "$bad" -eq 0 ]
