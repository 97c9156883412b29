#!/bin/bash
# The CLI and the C client never send the token: they have the scheduler
# prove it knows it, then sign each request (cluster-api(7)).  A listener
# run by a second local user on the address the client was given (the address file edited to name
# its port, the scheduler alive) receives the challenge and nothing
# else, even when it relays the challenge to the real scheduler: no
# token, no signature, from `cluster tasks`, `submit`, `status` and the
# C client.  On the real scheduler a replayed signed request is refused,
# so is a signature made with another key (401, JSON), and curl with the
# bearer token still works.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"
command -v mpirun >/dev/null || t_bail "mpirun is installed"
command -v python3 >/dev/null || t_bail "python3 is installed"

dir=$CLUSTER_HOME/signed
addr=$dir/address
t_spawn timeout 300 mpirun -np 2 --oversubscribe "$CLUSTER_RANK" --no-bind \
	--cores 1 --set scheduler.host=127.0.0.1 --name signed \
	>"$T_DIR/head.out" 2>"$T_DIR/head.err"
head=$T_PID
wait_for 30 bash -c "grep -qs 'scheduler listening' '$T_DIR/head.err'" ||
	t_bail "the head job starts" "$(cat "$T_DIR/head.err")"
wait_for 10 test -s "$addr" || t_bail "the head job publishes its address"
token=$(cat "$dir/token")
http=$(sed -n 's/.*"http_port": *\([0-9]*\).*/\1/p' "$addr")
t_like "$http" '^[0-9]+$' "the address file names the HTTP port"
t_run timeout 15 "$CLUSTER" --name signed tasks
t_is "$T_RC" 0 "the CLI works against the scheduler" "$T_ERR"

# --- the real scheduler: signatures, replays, bearer -------------------------
# sign.py TOKEN PORT METHOD TARGET [NONCE]: a request signed as
# cluster-api(7) says, sent twice on one connection each; prints the two
# status lines and bodies.
cat >"$T_DIR/sign.py" <<'EOF'
import hashlib, hmac, os, socket, sys, time
token, port, method, target = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
nonce = os.urandom(16).hex()
ts = int(time.time())
body = b""
bh = hashlib.sha256(body).hexdigest()
msg = "cluster-http-1 request\n%s\n%s\n%d\n%s\n%d\n%s" % (method, target, ts, nonce, len(body), bh)
mac = hmac.new(token.encode(), msg.encode(), hashlib.sha256).hexdigest()
req = ("%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
       "Authorization: Cluster-HMAC ts=%d, nonce=%s, body=%s, mac=%s\r\n\r\n"
       % (method, target, ts, nonce, bh, mac)).encode()
for _ in range(2):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    status, _, rest = data.partition(b"\r\n")
    print(status.decode(), rest.split(b"\r\n\r\n", 1)[-1].decode().strip())
EOF
t_run python3 "$T_DIR/sign.py" "$token" "$http" GET /api/v1/counters
t_like "$(sed -n 1p <<<"$T_OUT")" '^HTTP/1.1 200 .*"uptime"' "a signed request is taken" "$T_OUT"
t_like "$(sed -n 2p <<<"$T_OUT")" '^HTTP/1.1 401 .*\{"error": *"unauthorized: signature replayed' \
	"the same signed request again is refused with 401 JSON" "$T_OUT"
other=$(printf '%064d' 7)
t_run python3 "$T_DIR/sign.py" "$other" "$http" GET /api/v1/counters
t_like "$(sed -n 1p <<<"$T_OUT")" '^HTTP/1.1 401 .*\{"error": *"unauthorized: bad signature' \
	"a signature made with another key is refused with 401 JSON" "$T_OUT"
if command -v curl >/dev/null; then
	code=$(curl -s -o "$T_DIR/bearer" -w '%{http_code}' \
		-H "Authorization: Bearer $token" "http://127.0.0.1:$http/api/v1/counters")
	t_is "$code" 200 "curl with the bearer token still works"
	t_like "$(cat "$T_DIR/bearer")" '"uptime"' "and gets the counters"
else
	t_skip "curl with the bearer token still works" "no curl"
fi

# --- a listener on the address the client was given --------------------------
# It keeps every byte.  A challenge it relays to the real scheduler and
# hands back the real proof (made for the real port); anything else it
# answers 200 {}.  With its folder's fake, it answers the challenge itself.
cat >"$T_DIR/squat.py" <<'EOF'
import os, select, socket, sys, time
out = open(sys.argv[1], "ab", buffering=0)
real = int(sys.argv[3]); fake = sys.argv[4]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(8)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
conns = {}
end = time.time() + 240
def answer(c, head):
    if b"/api/v1/auth/challenge" in head.split(b"\r\n")[0] and not os.path.exists(fake):
        r = socket.create_connection(("127.0.0.1", real))
        line = head.split(b"\r\n")[0]
        r.sendall(line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            d = r.recv(65536)
            if not d:
                break
            data += d
        r.close()
        hdr, _, body = data.partition(b"\r\n\r\n")
    else:
        body = b'{"nonce": "' + b"0" * 32 + b'", "port": 1, "proof": "' + b"0" * 64 + b'"}'
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
while time.time() < end:
    ready, _, _ = select.select([s] + list(conns), [], [], 0.2)
    for x in ready:
        if x is s:
            c, _ = s.accept()
            conns[c] = b""
            out.write(b"[connection]\n")
            continue
        data = x.recv(65536)
        if not data:
            del conns[x]
            x.close()
            continue
        out.write(data)
        conns[x] += data
        while b"\r\n\r\n" in conns[x]:
            head, _, conns[x] = conns[x].partition(b"\r\n\r\n")
            answer(x, head)
EOF
# The listener runs as a second local user, the squatter of a port the
# owner's scheduler once had; it may write only its own folder.
intruder=cluster-squat-$$
useradd --system --no-create-home --shell /usr/sbin/nologin "$intruder" ||
	t_bail "useradd $intruder"
remove_intruder() {
	t_cleanup
	userdel "$intruder" >/dev/null 2>&1
}
trap remove_intruder EXIT
sq=$T_DIR/squatter
mkdir "$sq"
chown "$intruder" "$sq"
chmod o+x "$T_DIR"
chmod o+r "$T_DIR/squat.py"
: >"$sq/received"
chown "$intruder" "$sq/received"
t_spawn runuser -u "$intruder" -- python3 "$T_DIR/squat.py" "$sq/received" \
	"$sq/squat-port" "$http" "$sq/fake"
squatter=$T_PID
wait_for 10 test -s "$sq/squat-port" || t_bail "the listener starts"
squat=$(cat "$sq/squat-port")
cp "$addr" "$T_DIR/address.real"
sed "s/\"http_port\": *$http/\"http_port\": $squat/" "$T_DIR/address.real" >"$addr.tmp" &&
	mv "$addr.tmp" "$addr"
t_like "$(cat "$addr")" "\"http_port\": *$squat" "the address file names the listener's port"

t_run timeout 15 "$CLUSTER" --name signed tasks
t_unlike "$T_RC" '^0$' "cluster tasks against the listener fails"
t_like "$T_ERR" "could not prove it knows the token.*nothing secret was sent" \
	"and says the scheduler could not prove it knows the token"
t_run timeout 15 "$CLUSTER" --name signed submit -- echo secret-argument
t_unlike "$T_RC" '^0$' "cluster submit fails the same way"
t_like "$T_ERR" "could not prove it knows the token" "and says so too"
t_run timeout 15 "$CLUSTER" --name signed status
t_unlike "$T_RC" '^0$' "cluster status fails the same way"
t_like "$T_ERR" "could not prove it knows the token" "and says so too"

# The C client, built from the tree as cluster-client(3) builds a program.
cat >"$T_DIR/prog.c" <<'EOF'
#include <stdio.h>
#include <cluster/client.h>
int main(void)
{
	char err[512];
	struct cluster_counters cn;
	cluster_client_t *c = cluster_client_open("signed", err, sizeof(err));
	if (!c) {
		fprintf(stderr, "open: %s\n", err);
		return 1;
	}
	if (cluster_counters(c, &cn) < 0) {
		fprintf(stderr, "%s\n", cluster_client_error(c));
		cluster_client_close(c);
		return 2;
	}
	cluster_client_close(c);
	return 0;
}
EOF
san=
nm "$CLUSTER_BUILD/lib/libcluster.a" | grep -q __asan && san=-fsanitize=address,undefined
t_run cc $san "$T_DIR/prog.c" -I"$T_ROOT/include" "$CLUSTER_BUILD/lib/libcluster.a" \
	$(pkg-config --libs jansson libevent libcrypto) -o "$T_DIR/prog"
t_is "$T_RC" 0 "a program using the C client builds" "$T_ERR"
t_run timeout 15 "$T_DIR/prog"
t_is "$T_RC" 2 "the C client against the listener fails" "$T_ERR"
t_like "$T_ERR" "could not prove it knows the token" "and says why"

touch "$sq/fake"
t_run timeout 15 "$CLUSTER" --name signed tasks
t_unlike "$T_RC" '^0$' "against a listener that makes up a proof, the CLI fails too"
t_like "$T_ERR" "could not prove it knows the token" "and says so"
sleep 0.5
got=$(cat "$sq/received")
t_like "$got" "GET /api/v1/auth/challenge\\?nonce=[0-9a-f]{32} " "the listener was asked for a proof"
t_is "$(grep -c '^GET /api/v1/auth/challenge' "$sq/received")" 5 \
	"once by each client, and asked nothing else"
t_unlike "$got" "$token" "it never received the token"
t_unlike "$got" "(Authorization|Bearer|Cluster-HMAC)" "nor any credential or signature"
t_unlike "$got" "secret-argument" "nor what was to be submitted"
t_kill "$squatter"

mv "$T_DIR/address.real" "$addr"
t_run timeout 15 "$CLUSTER" --name signed tasks
t_is "$T_RC" 0 "with the real address again, the CLI works" "$T_ERR"
t_run timeout 15 "$T_DIR/prog"
t_is "$T_RC" 0 "and so does the C client" "$T_ERR"
t_kill "$head"
t_done
