#!/bin/bash
# The command line itself: version, help from the command table, and usage
# errors (stderr, exit status 2) for everything malformed before a
# subcommand runs.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER (run make BUILD=... all)"

want_version=$(sed -n 's/^VERSION *:= *//p' "$T_ROOT/Makefile")

t_run "$CLUSTER" --version
t_is "$T_RC" 0 "--version exits 0"
t_is "$T_OUT" "cluster $want_version" "--version prints the Makefile's version"

t_run "$CLUSTER" help
t_is "$T_RC" 0 "help exits 0"
t_like "$T_OUT" "usage: cluster " "help prints the usage line"
t_is "$T_ERR" "" "help writes nothing to stderr"
help_out=$T_OUT

t_run "$CLUSTER" --help
t_is "$T_RC" 0 "--help exits 0"
t_is "$T_OUT" "$help_out" "--help prints the same as help"

# The commands listed by help: two leading spaces, a name, its summary.
commands=$(printf '%s\n' "$help_out" | sed -n 's/^  \([a-z][a-z-]*\)  *[^ ].*/\1/p')
for c in config job-script help; do
	if printf '%s\n' "$commands" | grep -qx -- "$c"; then
		t_ok "help lists '$c'"
	else
		t_fail "help lists '$c'" "listed: $commands"
	fi
done

# Every listed command has its own help page built from the table.
bad=
for c in $commands; do
	out=$("$CLUSTER" help "$c" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] || [[ $out != "usage: cluster $c"* ]]; then
		bad+="$c (exit $rc): $out"$'\n'
	fi
done
if [ -n "$commands" ] && [ -z "$bad" ]; then
	t_ok "help COMMAND works for each of the $(printf "%s\n" "$commands" | wc -l) listed commands"
else
	t_fail "help COMMAND works for each listed command" "$bad"
fi

t_run "$CLUSTER" help config
t_is "$T_RC" 0 "help config exits 0"
t_like "$T_OUT" "^usage: cluster config " "help config prints config's usage"

# usage_error CMD... : exit 2, usage on stderr, nothing on stdout.
usage_error() {
	local what=$1
	shift
	t_run "$CLUSTER" "$@"
	t_is "$T_RC" 2 "$what exits 2"
	t_like "$T_ERR" "usage: cluster" "$what prints usage on stderr"
	t_is "$T_OUT" "" "$what prints nothing on stdout"
}

usage_error "unknown command" nosuch-command
t_like "$T_ERR" "unknown command 'nosuch-command'" "unknown command is named"

usage_error "unknown global option" --no-such-option help
t_like "$T_ERR" "no-such-option" "unknown global option is named"

usage_error "no command"
usage_error "global option without its value" --profile

t_run "$CLUSTER" --set job.cores help
t_is "$T_RC" 2 "--set without '=' exits 2"
t_like "$T_ERR" "--set wants KEY=VALUE, got 'job.cores'" "--set without '=' says what it wants"
t_is "$T_OUT" "" "--set without '=' prints nothing on stdout"

t_run "$CLUSTER" help nosuch
t_is "$T_RC" 2 "help nosuch exits 2"
t_like "$T_ERR" "unknown command 'nosuch'" "help nosuch names the command"
t_is "$T_OUT" "" "help nosuch prints nothing on stdout"

t_run "$CLUSTER" help config extra
t_is "$T_RC" 2 "help with two arguments exits 2"
t_like "$T_ERR" "usage: cluster help" "help with two arguments prints help's usage"

t_done
