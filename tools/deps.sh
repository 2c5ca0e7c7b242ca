#!/bin/sh
# deps.sh: install the Debian packages named as arguments that are missing.
# Used by `make deps`, `make check`, `make demo`; a no-op when all are there.
set -eu
missing=
for pkg in "$@"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
	    grep -q 'install ok installed' || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	sudo=
else
	sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086 # word splitting of the package list is meant
$sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends $missing >&2
