#!/bin/bash
# The C client library as a program outside the tree uses it: make
# install puts the header, libcluster (static and shared) and cluster.pc
# under PREFIX; the example of cluster-client(3) builds with
#	cc prog.c $(pkg-config --cflags --libs cluster)
# and runs against a head job; make uninstall takes it all away again.
# And the build itself: changed flags rebuild, the same ones do not.
. "$(dirname "$0")/lib.sh"

# --- a flags stamp: changed CFLAGS or DEVELOPER rebuild ----------------------------
obj=src/util/clock.o
# compiles FLAGS...: make one object in a fresh build directory, with
# these variables; prints how many files it compiled.
compiles() {
	make -C "$T_ROOT" BUILD="$T_DIR/b" "$@" "$T_DIR/b/$obj" 2>&1 | grep -c '^  CC '
}
t_is "$(compiles)" 1 "a fresh build compiles the object"
t_is "$(compiles)" 0 "the same flags again compile nothing"
t_is "$(compiles CFLAGS='-O0 -g')" 1 "other CFLAGS compile it again"
t_is "$(compiles CFLAGS='-O0 -g')" 0 "and once only"
t_is "$(compiles CFLAGS='-O0 -g' DEVELOPER=1)" 1 "DEVELOPER=1 compiles it again"
rm -rf "$T_DIR/b"

t_done
