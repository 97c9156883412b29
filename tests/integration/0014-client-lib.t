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

# --- make install: header, libraries, pkg-config --------------------------------
prefix=$T_DIR/prefix
t_run make -s -C "$T_ROOT" BUILD="$CLUSTER_BUILD" PREFIX="$prefix" install
t_is "$T_RC" 0 "make install PREFIX=... succeeds"
for f in include/cluster/client.h lib/libcluster.a lib/libcluster.so \
	lib/libcluster.so.0 lib/pkgconfig/cluster.pc share/man/man3/cluster-client.3; do
	t_check "installed $f" test -s "$prefix/$f"
done
t_is "$(nm -D --defined-only "$prefix/lib/libcluster.so" | awk '$3 !~ /^cluster_/ { print $3 }')" "" \
	"the shared library exports only cluster_* names"
t_is "$(nm -g --defined-only "$prefix/lib/libcluster.a" | awk 'NF == 3 && $3 !~ /^cluster_/ { print $3 }')" "" \
	"the archive's global names are only cluster_*"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
t_run pkg-config --cflags --libs cluster
t_is "$T_RC" 0 "pkg-config finds cluster"
t_like "$T_OUT" "-I$prefix/include" "pkg-config gives the installed include directory"
t_like "$T_OUT" "-L$prefix/lib -lcluster" "pkg-config gives the installed library"

# The example of cluster-client(3), as a reader would paste it.
sed -n '/^\.SH EXAMPLE/,/^\.SH /p' "$prefix/share/man/man3/cluster-client.3" |
	sed -n '/^\.EX$/,/^\.EE$/p' | sed '/^\.EE$/q' | sed '/^\.E[XE]$/d' |
	sed -e 's/\\e/\\/g' -e 's/\\-/-/g' >"$T_DIR/prog.c"
t_like "$(cat "$T_DIR/prog.c")" "cluster_client_open" "the man page has an example program"
# A library built with sanitizers needs them in the program too.
san=
nm -D "$prefix/lib/libcluster.so" | grep -q __asan && san=-fsanitize=address,undefined
t_run cc $san -Wall -Wextra -Werror "$T_DIR/prog.c" \
	$(pkg-config --cflags --libs cluster) -o "$T_DIR/prog"
t_is "$T_RC" 0 "the example builds with cc prog.c \$(pkg-config --cflags --libs cluster)" \
	"$T_ERR"
t_run cc $san "$T_DIR/prog.c" -I"$prefix/include" "$prefix/lib/libcluster.a" \
	$(pkg-config --libs jansson libevent libcrypto) -o "$T_DIR/prog-static"
t_is "$T_RC" 0 "the example links the archive too" "$T_ERR"

# --- the example against a running scheduler ----------------------------------------
if [ ! -x "$CLUSTER_RANK" ] || ! command -v mpirun >/dev/null; then
	t_skip "the example runs against a scheduler" "no cluster-rank or mpirun"
else
	t_spawn timeout 300 mpirun -np 3 --oversubscribe "$CLUSTER_RANK" \
		--set scheduler.host=127.0.0.1 --name L >"$T_DIR/head.log" 2>&1
	head=$T_PID
	have_workers() {
		[ "$(timeout 30 "$CLUSTER" --name L workers 2>/dev/null | grep -c alive)" -ge 2 ]
	}
	wait_for 30 have_workers || t_bail "two workers join" "$(cat "$T_DIR/head.log")"
	t_run env LD_LIBRARY_PATH="$prefix/lib" timeout 120 "$T_DIR/prog" L
	t_is "$T_RC" 0 "the example runs: exit 0" "$T_ERR"
	t_is "$T_OUT" $'element 1\n1 done 0\n2 done 0\n3 done 0' \
		"the example submits, waits, reads a log and lists tasks"
	t_like "$(env LD_LIBRARY_PATH="$prefix/lib" ldd "$T_DIR/prog")" "$prefix/lib/libcluster\.so\.0" \
		"the example uses the installed shared library"
	CLUSTER_NAME=L t_run timeout 120 "$T_DIR/prog-static"
	t_is "$T_RC" 0 "the statically linked example runs, the cluster from CLUSTER_NAME" "$T_ERR"
	t_is "$T_OUT" $'element 1\n4 done 0\n5 done 0\n6 done 0' \
		"the statically linked example does the same"
	t_run "$CLUSTER" --name L tasks --group echo
	t_is "$(printf '%s\n' "$T_OUT" | grep -c ' done ')" 6 "the CLI lists the example's tasks"
	t_kill "$head"
fi

# --- an Lmod modulefile --------------------------------------------------------------
version=$(sed -n 's/^VERSION *:= *//p' "$T_ROOT/Makefile")
mf=$prefix/share/modulefiles/cluster/$version.lua
t_check "make install writes share/modulefiles/cluster/$version.lua" test -s "$mf"
for want in "prepend_path(\"PATH\", \"$prefix/bin\")" \
	'prepend_path("MANPATH", pathJoin(prefix, "share/man"))' \
	"prepend_path(\"PKG_CONFIG_PATH\", \"$prefix/lib/pkgconfig\")" \
	"local prefix = \"$prefix\"" "whatis(\"Version: $version\")"; do
	t_check "the modulefile has: $want" grep -qxF -- "$want" "$mf"
done
if command -v luac >/dev/null; then
	t_check "the modulefile is Lua" luac -p "$mf"
fi
# With Lmod, loading it finds the installed commands, pages and library.
lmod_init=/usr/share/lmod/lmod/init/bash
if [ -r "$lmod_init" ]; then
	t_run env -u MANPATH MODULEPATH="$prefix/share/modulefiles" bash -c "
		. '$lmod_init' && module load cluster &&
		command -v cluster && man -w cluster-client && man -w man &&
		pkg-config --modversion cluster"
	t_is "$(printf '%s\n' "$T_OUT" | sed -n '1p;2p;4p')" \
		"$prefix/bin/cluster"$'\n'"$prefix/share/man/man3/cluster-client.3"$'\n'"$version" \
		"module load cluster: the command, its man pages and pkg-config" "$T_ERR"
	t_like "$(printf '%s\n' "$T_OUT" | sed -n 3p)" "^/usr/share/man/" \
		"module load cluster keeps the system's man pages"
else
	t_skip "module load cluster" "no Lmod"
fi

# --- make uninstall ---------------------------------------------------------------
t_run make -s -C "$T_ROOT" BUILD="$CLUSTER_BUILD" PREFIX="$prefix" uninstall
t_is "$T_RC" 0 "make uninstall PREFIX=... succeeds"
t_is "$(cd "$prefix" && find . ! -type d | sort)" "" "make uninstall leaves no file behind"
t_check "make uninstall removes the package's own directories" \
	test ! -e "$prefix/share/cluster" -a ! -e "$prefix/include/cluster"

t_done
