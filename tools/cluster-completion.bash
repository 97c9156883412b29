# Bash completion for cluster(1): commands, options, profile names, task
# states and config keys.  The words come from the program itself
# (`cluster __complete WORD...`), so they follow its option tables.
# Installed as share/bash-completion/completions/cluster; or source it.

_cluster() {
	local i words=() IFS=$'\n'

	# Bash splits --state=ru into "--state" "=" "ru" and completes "ru":
	# the program gets "--state" "ru", and offers what follows the '='.
	for ((i = 1; i <= COMP_CWORD; i++)); do
		[ "${COMP_WORDS[i]}" = "=" ] || words+=("${COMP_WORDS[i]}")
	done
	[ "${COMP_WORDS[COMP_CWORD]}" = "=" ] && words+=("")
	COMPREPLY=($("${COMP_WORDS[0]}" __complete "${words[@]}" 2>/dev/null))
	# A key for --set, "job.cores=", wants its value next: no space.
	if [ "${#COMPREPLY[@]}" -eq 1 ] && [ "${COMPREPLY[0]%=}" != "${COMPREPLY[0]}" ]; then
		compopt -o nospace 2>/dev/null
	fi
}
complete -o default -F _cluster cluster
