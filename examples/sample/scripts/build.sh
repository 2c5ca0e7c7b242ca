#!/bin/sh
# build.sh - builds the sample; has deliberate shellcheck findings (and a
# space before a semicolon, for shfmt) for the aim demo
out=$1
cd $(dirname "$0")/..
for f in $(ls src/*.c) ; do
	cc -c $f -o $out/$(basename $f .c).o
done
echo "built into $out"
