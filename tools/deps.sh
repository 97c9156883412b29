#!/bin/sh
# Install the Debian packages named on the command line that are missing;
# say which ones, or that all are present.  Needs root (or sudo) only when
# something is missing.
missing=
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	case $# in
	0) ;;
	1) echo "deps: $1 is present" ;;
	*) echo "deps: all $# packages present" ;;
	esac
	exit 0
fi
echo "deps: installing:$missing"
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update -q >/dev/null || exit 1
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing >/dev/null || {
	echo "deps: apt-get install failed for:$missing" >&2
	exit 1
}
