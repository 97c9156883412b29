#!/bin/bash
# cluster config show / check / profiles on good and broken files, their
# exit codes, and cluster.yaml(5) documenting exactly the keys of the table.
cd "$(dirname "$0")/../.."
src=$PWD
cluster=${CLUSTER_BUILD:-$PWD/build}/bin/cluster
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else nok "$what"; fi; }

tmp=$(mktemp -d /tmp/0020-config.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# A private home and no inherited config, so the host's files do not leak in.
export HOME=$tmp/home
unset CLUSTER_CONFIG PBS_ACCOUNT SLURM_ACCOUNT
mkdir -p "$HOME/.config/cluster"

# Run the CLI; out, err, rc hold what happened.  has_line LINE: out has
# LINE, each run of spaces read as one, whatever its columns' widths.
has_line() { tr -s ' ' <"$tmp/out" | grep -Fqx -- "$1"; }
run() {
	"$cluster" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# --- show -------------------------------------------------------------------
run config show
check "config show exits 0" [ "$rc" -eq 0 ]
check "config show names the profile and why" \
	grep -Eq '^# profile [a-z-]+: (auto|--profile|profile:)' "$tmp/out"
check "config show marks defaults" grep -Eqx 'job\.name += cluster +# default' "$tmp/out"
check "config show prints unset keys" grep -Eqx 'job\.queue += \(unset\) +# default' "$tmp/out"
nkeys=$("$cluster" config keys | wc -l)
nshown=$(grep -vc '^#' "$tmp/out")
check "config show prints every key ($nkeys)" [ "$nkeys" -eq "$nshown" ]
check "config show keeps table order" \
	[ "$(grep -v '^#' "$tmp/out" | sed 's/ *= .*//')" = "$("$cluster" config keys | cut -f1)" ]

cat >"$tmp/good.yaml" <<'EOF'
profile: site
job:
  account: ABC123
profiles:
  site:
    inherit: generic-pbs
    description: a test site
    hosts: ["testsite*"]
    job:
      memory: 100GiB
      cores: 36
      template: '${LITERAL}/job.sh'
EOF
run --config "$tmp/good.yaml" config show
check "show with --config exits 0" [ "$rc" -eq 0 ]
check "sizes show the value and the bytes" \
	has_line "job.memory = 100GiB (107374182400 bytes; rendered mem=100GB) # $tmp/good.yaml:10:7"
check "inherited value names its file" \
	grep -Eq '^backend += pbs +# (.*/)?generic-pbs\.yaml:[0-9]+:[0-9]+$' "$tmp/out"
check "profile from the file's profile: key" \
	grep -Fqx "# profile site: profile: in $tmp/good.yaml:1:10" "$tmp/out"
check "single-quoted \${VAR} stays literal" \
	has_line "job.template = \${LITERAL}/job.sh # $tmp/good.yaml:12:7"
check "global setting of the file applies" \
	has_line "job.account = ABC123 # $tmp/good.yaml:3:3"

# CLUSTER_CONFIG is the same layer as --config
CLUSTER_CONFIG=$tmp/good.yaml run config show
check "CLUSTER_CONFIG is read" grep -Eq '^job\.cores += 36 ' "$tmp/out"

run --config "$tmp/good.yaml" --set job.cores=8 --set job.walltime=90m config show
check "--set overrides the file" grep -Eqx 'job\.cores += 8 +# --set' "$tmp/out"
check "durations show seconds" \
	has_line "job.walltime = 90m (5400 seconds; rendered 01:30:00) # --set"

run --set job.corse=8 config show
check "--set of an unknown key exits 1" [ "$rc" -eq 1 ]
check "--set of an unknown key suggests one" \
	[ "$err" = "cluster: --set job.corse: unknown key 'job.corse' (did you mean 'job.cores'?)" ]

run --set 'job.queue=casper; rm -rf ~' config show
check "--set with shell characters exits 1" [ "$rc" -eq 1 ]
check "--set with shell characters says what is allowed" \
	grep -q "only letters, digits and the characters _.@+%=:,/- are allowed" "$tmp/err"

run --profile derecho config show
check "--profile derecho" grep -qx '# profile derecho: --profile' "$tmp/out"
check "derecho has 128 cores" grep -Eq '^job\.cores += 128 ' "$tmp/out"
check "derecho priority" grep -Eq '^job\.priority += regular ' "$tmp/out"

run --profile generic-pbs config show
check "single-quoted \$PBS_NODEFILE stays literal" \
	grep -Eq '^launch\.args += \[--hostfile, \$PBS_NODEFILE\] ' "$tmp/out"

run --profile nosuch config show
check "unknown profile exits 1" [ "$rc" -eq 1 ]
check "unknown profile lists the known ones" \
	grep -q "^cluster: unknown profile 'nosuch' (known: casper, casper-gpu, derecho, generic-pbs, generic-slurm, local, torque)" "$tmp/err"

# A broken user file is an error for every command that loads config.
printf 'job:\n  cores: [1\n' >"$HOME/.config/cluster/cluster.yaml"
run config show
check "broken user file: exit 1" [ "$rc" -eq 1 ]
check "broken user file: error names it" \
	grep -q "^cluster: $HOME/.config/cluster/cluster.yaml:[0-9]*:[0-9]*: YAML syntax error" "$tmp/err"
rm "$HOME/.config/cluster/cluster.yaml"

# --- check ------------------------------------------------------------------
run config check "$tmp/good.yaml"
check "check good file: exit 0" [ "$rc" -eq 0 ]
check "check good file: prints ok" [ "$out" = "$tmp/good.yaml: ok" ]

# name, content, expected message after "cluster: FILE:"
bad() {
	printf "$2" >"$tmp/$1"
	run config check "$tmp/$1"
	check "check $1: exit 1" [ "$rc" -eq 1 ]
	if [ "$err" = "cluster: $tmp/$1:$3" ]; then
		ok "check $1: message"
	else
		nok "check $1: message (got: $err)"
	fi
}
bad typo.yaml 'job:\n    corse: 4\n' \
	"2:5: unknown key 'job.corse' (did you mean 'job.cores'?)"
bad size.yaml 'job:\n  memory: 4 bananas\n' \
	"2:11: invalid value '4 bananas' for 'job.memory': expected a size like 4GiB or 1.5GB"
bad bounds.yaml 'job: {nodes: 0}\n' \
	"1:14: invalid value '0' for 'job.nodes': expected an integer from 1 to 100000"
bad choice.yaml 'backend: lsf\n' \
	"1:10: invalid value 'lsf' for 'backend': expected one of local, slurm, pbs, torque"
bad queue.yaml 'job:\n  queue: casper; rm -rf ~\n' \
	"2:10: invalid value 'casper; rm -rf ~' for 'job.queue': only letters, digits and the characters _.@+%=:,/- are allowed"
bad var.yaml 'job:\n  log-directory: /x/${CFG_T_UNSET}\n' \
	"2:21: environment variable 'CFG_T_UNSET' is not set (in 'job.log-directory'; single quotes keep '\${CFG_T_UNSET}' literal)"
bad syntax.yaml 'job:\n  cores: 4\n queue: x\n' \
	"3:2: YAML syntax error: did not find expected key (while parsing a block mapping at line 1, column 1)"
bad cycle.yaml 'profiles:\n  a: {inherit: b}\n  b: {inherit: a}\n' \
	"2:16: profile 'a' inherits itself: a -> b -> a"
bad parent.yaml 'profiles:\n  a:\n    inherit: nobody\n' \
	"3:14: profile 'a' inherits unknown profile 'nobody' (known: a, casper, casper-gpu, derecho, generic-pbs, generic-slurm, local, torque)"

run config check "$tmp/missing.yaml"
check "check missing file: exit 1" [ "$rc" -eq 1 ]
check "check missing file: message" \
	[ "$err" = "cluster: cannot read config file '$tmp/missing.yaml': no such file or directory" ]

# --- profiles -----------------------------------------------------------------
run config profiles
check "config profiles: exit 0" [ "$rc" -eq 0 ]
for p in local generic-slurm generic-pbs torque casper derecho; do
	check "config profiles lists $p" grep -qx "$p" "$tmp/out"
done
check "config profiles shows inherit" \
	bash -c "sed -n '/^casper\$/,/^[a-z]/p' '$tmp/out' | grep -qx '  inherit:     generic-pbs'"
check "config profiles shows hosts" \
	bash -c "sed -n '/^derecho\$/,/^[a-z]/p' '$tmp/out' | grep -qx '  hosts:       derecho\[0-9\]\*, dec\[0-9\]\[0-9\]\[0-9\]\[0-9\], dec\[0-9\]\*\.hsn\.de\.hpc\.ucar\.edu'"
check "config profiles shows where each is defined" \
	grep -qx "  defined in:  $src/config/torque.yaml" "$tmp/out"
check "config profiles ends with the auto choice" \
	bash -c "tail -1 '$tmp/out' | grep -Eq \"^(auto picks '[a-z-]+' on this host: auto: |in use: [a-z-]+ \\(auto: )\""
run --config "$tmp/good.yaml" config profiles
check "config profiles includes profiles of --config" grep -qx 'site' "$tmp/out"

# --- usage errors -------------------------------------------------------------
run config
check "config without action: exit 2" [ "$rc" -eq 2 ]
check "usage line printed" grep -q '^usage: cluster config ' "$tmp/err"
run config frobnicate
check "unknown action: exit 2" [ "$rc" -eq 2 ]
run config check
check "check without FILE: exit 2" [ "$rc" -eq 2 ]
run config check a b
check "check with two files: exit 2" [ "$rc" -eq 2 ]
run config show extra
check "show with an argument: exit 2" [ "$rc" -eq 2 ]

# --- cluster.yaml(5) documents exactly the table --------------------------------
man=man/cluster.yaml.5
# Key entries: in the KEYS section, a ".TP" line followed by ".B key".
documented=$(sed -n '/^\.SH KEYS/,/^\.SH /p' "$man" |
	awk 'prev == ".TP" && $1 == ".B" { print $2 } { prev = $0 }')
table=$("$cluster" config keys | cut -f1)
missing=$(comm -23 <(echo "$table" | sort) <(echo "$documented" | sort))
extra=$(comm -13 <(echo "$table" | sort) <(echo "$documented" | sort))
check "every key is in cluster.yaml(5)${missing:+ (missing: $(echo $missing))}" [ -z "$missing" ]
check "every key in cluster.yaml(5) is real${extra:+ (not in the table: $(echo $extra))}" [ -z "$extra" ]
check "cluster.yaml(5) lists keys in table order" [ "$documented" = "$table" ]
# Each entry starts with the key's type and default.
drift=
while IFS=$'\t' read -r key type def; do
	line=$(sed -n '/^\.SH KEYS/,/^\.SH /p' "$man" |
		awk -v k="$key" 'found { print; exit } $0 == ".B " k { found = 1 }')
	if [ "$def" = "(unset)" ]; then
		want="unset by default."
	else
		want="default $def."
	fi
	case "$line" in
	"$type"*"$want"*) ;;
	*) drift="$drift $key" ;;
	esac
done < <("$cluster" config keys)
check "cluster.yaml(5) gives each key's type and default${drift:+ (wrong:$drift)}" [ -z "$drift" ]

# --- sizes as the batch system will read them -----------------------------
run --profile casper config show
check "config show renders Casper's 25GB as PBS binary units (mem=23842MB)" \
	grep -Eq '^job\.memory += 25GB \(25000000000 bytes; rendered mem=23842MB\) ' "$tmp/out"
run --profile generic-slurm --set job.memory=1GB --set job.walltime=90m config show
check "config show renders 1GB for Slurm as --mem=954M" \
	grep -Eq '^job\.memory += 1GB \(1000000000 bytes; rendered --mem=954M\) ' "$tmp/out"
check "config show renders 90m as 01:30:00" \
	grep -Eq '^job\.walltime += 90m \(5400 seconds; rendered 01:30:00\) ' "$tmp/out"

echo "1..$n"
