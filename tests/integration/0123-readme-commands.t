#!/bin/bash
# The README's commands run as written, on the machine its first lines
# name (Debian 12, as root, 2 cores), and print what it shows.
#
# What this test takes from README.md:
#	<!-- run -->	before a fenced block: each line starting with "$ " is a
#			command (a line ending in \ goes on on the next), and
#			the lines after it, up to the next command, are its
#			standard output as the README shows it.  "..." in a
#			line stands for any text, a line that is only "..."
#			for any number of lines; a command followed by no
#			lines has its output left unchecked.
#	<!-- file NAME -->  before a fenced block: the block is the file NAME
#			as the reader writes it; it is written there before the
#			commands that follow run.
# Every command must exit 0.  All of them run in order in one shell, in
# an empty directory, so a cd or an export carries on to the next block.
# They get the build's bin first on PATH, a private HOME with no
# CLUSTER_HOME (so the README's ~/.cluster is where things are), and
# none of the environment the other tests give mpirun (root, and
# oversubscription): the README must say those itself.  Added are only a
# configuration file that binds schedulers to 127.0.0.1, as every test
# does, and a TMPDIR of the test's own for mktemp.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"
[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
command -v python3 >/dev/null || t_bail "python3 is installed" "make deps-test installs it"

readme=${README:-$T_ROOT/README.md}
steps=$T_DIR/steps
mkdir -p "$steps"

# Split the README into steps/N.cmd (and N.want where it shows output),
# and steps/session.sh, which runs them in order and keeps each one's
# output and status as N.out, N.err and N.rc.
python3 - "$readme" "$steps" <<'EOF' || t_bail "the README's marked blocks can be read"
import re, sys
readme, steps = sys.argv[1], sys.argv[2]
lines = open(readme).read().split('\n')
session = ['cd "$1" || exit 1']
n = 0
i = 0
mark = re.compile(r'^<!-- (run|file ([^ ]+)) -->$')
while i < len(lines):
    m = mark.match(lines[i])
    i += 1
    if not m:
        continue
    if i >= len(lines) or not lines[i].startswith('```'):
        sys.exit('%s:%d: a marker not followed by a fenced block' % (readme, i))
    i += 1
    block = []
    while i < len(lines) and not lines[i].startswith('```'):
        block.append(lines[i])
        i += 1
    if i >= len(lines):
        sys.exit('%s: a fenced block that does not end' % readme)
    i += 1
    if m.group(2):
        body = '\n'.join(block) + '\n'
        if '\n__README_FILE__\n' in '\n' + body:
            sys.exit('%s: file %s holds the here-document end' % (readme, m.group(2)))
        session.append("cat >'%s' <<'__README_FILE__'\n%s__README_FILE__"
                       % (m.group(2).replace("'", "'\\''"), body))
        continue
    j = 0
    if block and not block[0].startswith('$ '):
        sys.exit('%s: a run block that does not start with a command' % readme)
    while j < len(block):
        cmd = [block[j][2:]]
        j += 1
        while cmd[-1].endswith('\\') and j < len(block):
            cmd.append(block[j])
            j += 1
        want = []
        while j < len(block) and not block[j].startswith('$ '):
            want.append(block[j])
            j += 1
        n += 1
        text = '\n'.join(cmd)
        open('%s/%d.cmd' % (steps, n), 'w').write(text + '\n')
        if want:
            open('%s/%d.want' % (steps, n), 'w').write('\n'.join(want) + '\n')
        session.append('{\n%s\n} >"$2/%d.out" 2>"$2/%d.err" </dev/null\n'
                       'echo $? >"$2/%d.rc"' % (text, n, n, n))
open('%s/session.sh' % steps, 'w').write('\n'.join(session) + '\n')
open('%s/count' % steps, 'w').write('%d\n' % n)
EOF

# match WANT OUT: OUT is what WANT shows, "..." as above.
cat >"$steps/match.py" <<'EOF'
import re, sys
want = open(sys.argv[1]).read().rstrip('\n').split('\n')
got = open(sys.argv[2]).read().rstrip('\n')
got = got + '\n' if got else ''
rx = ''
for line in want:
    if line.strip() == '...':
        rx += r'(?:[^\n]*\n)*?'
    else:
        rx += r'[^\n]*?'.join(re.escape(p) for p in line.rstrip().split('...'))
        rx += r'[ \t]*\n'
if not re.fullmatch(rx, got):
    sys.exit('README shows:\n%s\nthe command printed:\n%s' % ('\n'.join(want), got))
EOF

count=$(cat "$steps/count")
t_check "the README marks at least 20 runnable commands" test "$count" -ge 20
all=$(cat "$steps"/*.cmd 2>/dev/null)
for c in 'cluster start' 'cluster scale' 'cluster submit' 'cluster wait' \
	'cluster status' 'cluster stop' 'mpirun .*cluster-rank .*--run' \
	'job-script --batch' 'OMPI_ALLOW_RUN_AS_ROOT=1' '--oversubscribe'; do
	t_like "$all" "$c" "the README's runnable commands include '$c'"
done

# The session: the README's environment, not the tests'.
work=$T_DIR/work
mkdir -p "$work" "$T_DIR/tmp"
printf 'scheduler:\n  host: 127.0.0.1\n' >"$T_DIR/bind.yaml"
stop_left() {
	local d
	for d in "$HOME"/.cluster/*/; do
		[ -e "$d/address" ] || continue
		PATH=$CLUSTER_BUILD/bin:$PATH "$CLUSTER" --name "$(basename "$d")" \
			stop --force >/dev/null 2>&1
	done
}
t_spawn env -u CLUSTER_HOME -u OMPI_ALLOW_RUN_AS_ROOT \
	-u OMPI_ALLOW_RUN_AS_ROOT_CONFIRM -u OMPI_MCA_rmaps_base_oversubscribe \
	PATH="$CLUSTER_BUILD/bin:$PATH" CLUSTER_CONFIG="$T_DIR/bind.yaml" \
	TMPDIR="$T_DIR/tmp" \
	timeout 600 bash "$steps/session.sh" "$work" "$steps"
session=$T_PID
wait "$session"
stop_left

for ((i = 1; i <= count; i++)); do
	cmd=$(head -1 "$steps/$i.cmd" | sed 's/  *# .*//')
	if [ ! -e "$steps/$i.rc" ]; then
		t_fail "README: '$cmd' runs" "the session ended before it"
		continue
	fi
	rc=$(cat "$steps/$i.rc")
	if [ "$rc" = 0 ]; then
		t_ok "README: '$cmd' exits 0"
	else
		t_fail "README: '$cmd' exits 0" "it exits $rc; its stderr:" \
			"$(cat "$steps/$i.err")"
	fi
	if [ -e "$steps/$i.want" ]; then
		if why=$(python3 "$steps/match.py" "$steps/$i.want" "$steps/$i.out" 2>&1); then
			t_ok "README: '$cmd' prints what the README shows"
		else
			t_fail "README: '$cmd' prints what the README shows" "$why"
		fi
	fi
done

t_done
