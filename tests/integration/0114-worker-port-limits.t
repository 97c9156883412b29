#!/bin/bash
# The worker port against strangers: a handshake has ten seconds from
# accept however its bytes trickle in; a byte that cannot begin a frame
# is refused at once; a frame before AUTH may be no larger than AUTH can
# be; and strangers holding many half-done handshakes cost the scheduler
# little memory and no more than its cap of descriptors, and are all
# dropped by the deadline, while a real worker still gets in.  The memory
# check means nothing under AddressSanitizer, whose quarantine keeps what
# is freed: run it on a plain build.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
command -v mpirun >/dev/null || t_bail "mpirun is installed"
command -v python3 >/dev/null || t_bail "python3 is installed"

c() {
	timeout 60 "$CLUSTER" --name W "$@"
}

t_spawn timeout 300 mpirun -np 2 --oversubscribe "$CLUSTER_RANK" \
	--set scheduler.host=127.0.0.1 --name W >"$T_DIR/head.log" 2>&1
head=$T_PID
addr=$CLUSTER_HOME/W/address
wait_for 30 test -s "$addr" ||
	t_bail "the head publishes its address" "$(cat "$T_DIR/head.log")"
has_worker() {
	c workers 2>/dev/null | grep -q alive
}
wait_for 30 has_worker || t_bail "a worker joins" "$(cat "$T_DIR/head.log")"
port=$(sed -n 's/.*"port": *\([0-9]*\).*/\1/p' "$addr")
pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$addr")
[ -n "$port" ] && [ -r "/proc/$pid/status" ] ||
	t_bail "the address file names the port and the scheduler's pid"
t_ok "the head is up"

# probe MODE ARGS: one stranger's behaviour on the worker port; prints
# what it saw as key=value lines.
cat >"$T_DIR/probe.py" <<'PY'
import os, signal, socket, struct, sys, time

mode, port = sys.argv[1], int(sys.argv[2])

def header(length, type_=2):
    return struct.pack(">IBBHI", 0x434c5354, 4, type_, 0, length)

def connect():
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(5)
    hello = b""
    while len(hello) < 12 + 32:
        got = s.recv(44 - len(hello))
        if not got:
            break
        hello += got
    return s

def closed(s, wait):
    """Seconds until the peer closes, within `wait`; None if it does not."""
    start = time.monotonic()
    s.settimeout(0.2)
    while time.monotonic() - start < wait:
        try:
            if s.recv(4096) == b"":
                return time.monotonic() - start
        except socket.timeout:
            pass
        except OSError:
            return time.monotonic() - start
    return None

def rss(pid):
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

if mode == "drip":
    # A well-formed AUTH header, then its payload a byte a second.
    s = connect()
    start = time.monotonic()
    s.sendall(header(200))
    end = None
    while time.monotonic() - start < int(sys.argv[3]):
        try:
            s.sendall(b"\x01")
        except OSError:
            break
        if closed(s, 1.0) is not None:
            break
    print("closed_after=%d" % (time.monotonic() - start))
elif mode == "garbage":
    s = connect()
    s.sendall(sys.argv[3].encode())
    t = closed(s, 8)
    print("closed_after=%s" % ("never" if t is None else "%d" % t))
elif mode == "big":
    # An AUTH header announcing most of a MiB, and the bytes after it.
    s = connect()
    s.sendall(header(1000000))
    try:
        s.sendall(b"\0" * 900000)
    except OSError:
        pass
    t = closed(s, 5)
    print("closed_after=%s" % ("never" if t is None else "%d" % t))
elif mode == "many":
    # N strangers, each with most of an AUTH frame, held open.  The
    # scheduler's HELLO tells when it accepted one: each must be closed
    # within its ten seconds of that, and every one must be accepted.
    n, pid = int(sys.argv[3]), sys.argv[4]
    before = rss(pid)
    fds0 = len(os.listdir("/proc/%s/fd" % pid))
    socks = []
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    start = time.monotonic()
    hello_at, closed_at, sent = {}, {}, set()

    def look():
        now = time.monotonic() - start
        for i in range(n):
            if i in closed_at:
                continue
            if i not in sent:
                # A connection still in the kernel's queue takes its
                # bytes once it is established.
                try:
                    socks[i].send(header(3000) + b"\0" * 2900)
                    sent.add(i)
                except OSError:
                    pass
            try:
                got = socks[i].recv(65536)
                if got == b"":
                    closed_at[i] = now
                elif i not in hello_at:
                    hello_at[i] = now
            except BlockingIOError:
                pass
            except OSError:
                closed_at[i] = now

    def report():
        held = [closed_at[i] - hello_at.get(i, closed_at[i]) for i in closed_at]
        print("accepted=%d" % len(hello_at), flush=True)
        print("still_open=%d" % (n - len(closed_at)), flush=True)
        print("longest_held=%.1f" % max(held + [0]), flush=True)
        print("all_closed_after=%d" % (time.monotonic() - start), flush=True)

    signal.signal(signal.SIGTERM, lambda *a: (report(), sys.exit(1)))
    while time.monotonic() - start < 3:
        look()
        time.sleep(0.2)
    print("rss_grown=%d" % (rss(pid) - before), flush=True)
    print("fds_grown=%d" % (len(os.listdir("/proc/%s/fd" % pid)) - fds0),
          flush=True)
    # A connection the kernel could not queue at once retries its SYN
    # (1, 3, 7, 15, 31 s): under load its ten seconds may start late.
    while len(closed_at) < n and time.monotonic() - start < 90:
        look()
        time.sleep(0.2)
    report()
elif mode == "flood":
    # N connections held for S seconds, then closed.
    n, hold = int(sys.argv[3]), float(sys.argv[4])
    socks = []
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    time.sleep(hold)
    for s in socks:
        s.close()
    print("held=%d" % n)
PY
probe() {
	timeout 60 python3 "$T_DIR/probe.py" "$@"
}
# Writes to a connection the scheduler closed must not end the script.
trap '' PIPE

# --- a handshake dripped a byte a second -----------------------------------
out=$(probe drip "$port" 16)
t=${out#closed_after=}
if [[ $t =~ ^[0-9]+$ ]] && ((t >= 8 && t <= 12)); then
	t_ok "a dripped handshake is dropped at its deadline (${t}s)"
else
	t_fail "a dripped handshake is dropped 10 s after accept" "$out"
fi
t_check "the scheduler logs it" grep -q "no handshake in time" "$T_DIR/head.log"

# --- a few bytes of garbage -------------------------------------------------
for g in x GET CLSx; do
	out=$(probe garbage "$port" "$g")
	t_is "$out" "closed_after=0" "'$g' is refused at once"
done

# --- a large frame before AUTH -----------------------------------------------
out=$(probe big "$port")
t_is "$out" "closed_after=0" "an AUTH header announcing a MiB is refused at once"
t_check "the scheduler says why" grep -q \
	"dropped connection from 127.0.0.1:[0-9]*: frame AUTH: payload length 1000000 exceeds the maximum 4096" \
	"$T_DIR/head.log"

# --- many half-done handshakes -----------------------------------------------
# 300 strangers, each with most of an AUTH frame: no more than 256 are
# taken at once (the rest wait in the kernel's backlog), they cost little,
# and each is dropped at its deadline; then a new worker still gets in.
out=$(timeout 120 python3 "$T_DIR/probe.py" many "$port" 300 "$pid" 2>&1)
fds=$(sed -n 's/^fds_grown=//p' <<<"$out")
grown=$(sed -n 's/^rss_grown=//p' <<<"$out")
if [[ $fds =~ ^[0-9]+$ ]] && ((fds <= 260)); then
	t_ok "the scheduler holds $fds of the 300 (at most 256 handshakes)"
else
	t_fail "the scheduler holds at most 256 unfinished handshakes" "$out"
fi
if [[ $grown =~ ^-?[0-9]+$ ]] && ((grown < 8192)); then
	t_ok "its memory grew by ${grown} KiB (under 8 MiB)"
else
	t_fail "its memory grows by less than 8 MiB" "$out"
fi
held=$(sed -n 's/^longest_held=//p' <<<"$out")
if [ "$(sed -n 's/^still_open=//p' <<<"$out")" = 0 ] &&
	[ "$(sed -n 's/^accepted=//p' <<<"$out")" = 300 ] &&
	[[ $held =~ ^[0-9]+\.[0-9]$ ]] && ((${held%.*} < 13)); then
	t_ok "every stranger is dropped by its deadline (held ${held} s at most, all within $(sed -n 's/^all_closed_after=//p' <<<"$out") s)"
else
	t_fail "every stranger is dropped by its deadline" "$out"
fi
t_run c submit -- true
t_run c wait "$T_OUT"
t_is "$T_RC" 0 "a task still runs on the head's worker"

t_run c tasks
t_is "$T_RC" 0 "the API still answers"
t_kill "$head"

# --- out of descriptors -------------------------------------------------------
# A scheduler allowed 128 descriptors, and 300 strangers on its worker
# port for 4 seconds: it drops what it cannot take, logs that a few
# times, not thousands, and answers the API again once they are gone.
t_spawn bash -c "ulimit -n 128 && exec timeout 300 mpirun -np 2 --oversubscribe \
	'$CLUSTER_RANK' --set scheduler.host=127.0.0.1 --name F >'$T_DIR/f.log' 2>&1"
fhead=$T_PID
addr=$CLUSTER_HOME/F/address
wait_for 30 test -s "$addr" ||
	t_bail "the second head publishes its address" "$(cat "$T_DIR/f.log")"
port=$(sed -n 's/.*"port": *\([0-9]*\).*/\1/p' "$addr")
f() {
	timeout 20 "$CLUSTER" --name F "$@"
}
wait_for 30 f tasks >/dev/null 2>&1 || t_bail "the second head answers" "$(cat "$T_DIR/f.log")"
probe flood "$port" 300 4 >/dev/null
t_run timeout 10 bash -c "until '$CLUSTER' --name F tasks >/dev/null 2>&1; do sleep 0.2; done"
t_is "$T_RC" 0 "the API answers once the strangers are gone"
n=$(grep -c "cannot accept" "$T_DIR/f.log")
if ((n >= 1 && n <= 6)); then
	t_ok "the scheduler said it could not accept, $n times"
else
	t_fail "the scheduler says it cannot accept once or a few times" \
		"$n lines; the first: $(grep -m 3 "cannot accept" "$T_DIR/f.log")"
fi
t_kill "$fhead"
t_done
