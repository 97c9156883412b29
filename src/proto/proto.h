/*
 * proto: the binary protocol between the scheduler and its workers, over
 * TCP.  Documented for outsiders in cluster-protocol(7).
 *
 * A frame is a 12-byte header and a payload:
 *
 *	u32 magic    0x434c5354 ("CLST")
 *	u8  version  PROTO_VERSION
 *	u8  type     enum proto_type
 *	u16 flags    0
 *	u32 length   payload bytes, at most the receiver's maximum
 *
 * All integers are big-endian.  In payloads: u8/u32/u64 fixed width;
 * strings are u32 length + bytes (no NUL, at most PROTO_MAX_STRING); string
 * lists are u32 count (at most PROTO_MAX_LIST) + strings.  A decoder checks
 * every length against what is left of the frame, and the frame must be
 * consumed exactly: trailing bytes are an error.
 *
 * Handshake (mutual proof of the shared token, which never crosses the
 * wire):  S->W HELLO{server nonce}; W->S AUTH{client nonce,
 * HMAC-SHA256(token, "cluster-auth-1 worker" | sn | cn), resources};
 * S->W WELCOME{worker id, heartbeat, HMAC(token, "cluster-auth-1 server" |
 * cn | sn)}.  Anything else before WELCOME drops the connection.
 *
 * Version 2 added the worker's batch job to AUTH (job id, array index,
 * job end time), so the pool can tell which job each worker belongs to.
 * Version 3 added GPUs: the worker's count to AUTH, a task's to RUN.
 * Both sides refuse a frame of another version at its header, so a
 * version 1 worker drops the server's HELLO ("unsupported protocol
 * version 2") and a version 1 AUTH is refused by the server; neither
 * side guesses at the other's layout.
 *
 * Version 3 lets a worker outlive its scheduler: RUN and DONE carry the
 * run's attempt (1 for the first run of a task), AUTH says how many
 * tasks the worker still runs or ran unreported, and right after WELCOME
 * such a worker lists them in REJOIN frames (task, attempt, seconds run,
 * at most PROTO_MAX_LIST a frame), then sends the DONE of those that
 * ended while it was away.  The scheduler answers KILL for each run it
 * does not take back, and places nothing on the worker before it has
 * heard of every task AUTH announced.
 * Version 3 also added the worker log's directory to RUN, so output
 * goes to one log per worker instead of a file per task.
 *
 * Version 4 added to DONE the run's spawn and output times, so the time
 * per action can tell the worker's own overhead from the command's run,
 * and the interval to HEARTBEAT: the scheduler scales it with the number
 * of workers (server/heartbeat.h) and tells each worker in its
 * heartbeats; a worker says in its own which interval it keeps, and
 * answers a change with a heartbeat at once.
 */
#ifndef CLUSTER_PROTO_H
#define CLUSTER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/strbuf.h"

#define PROTO_MAGIC		0x434c5354u
#define PROTO_VERSION		4
#define PROTO_HEADER_SIZE	12
#define PROTO_MAX_FRAME		(1u << 20)	/* default maximum payload */
#define PROTO_MAX_AUTH		4096		/* maximum payload before the
						   handshake: an AUTH's
						   fixed fields, a name, a
						   host name and a job id
						   fit with room to spare */
#define PROTO_MAX_STRING	(64u << 10)
#define PROTO_MAX_LIST		4096
#define PROTO_NONCE_SIZE	32
#define PROTO_MAC_SIZE		32

enum proto_type {
	PROTO_HELLO = 1,	/* S->W */
	PROTO_AUTH,		/* W->S */
	PROTO_WELCOME,		/* S->W */
	PROTO_RUN,		/* S->W: start a task */
	PROTO_KILL,		/* S->W: stop a task */
	PROTO_DONE,		/* W->S: a task ended */
	PROTO_HEARTBEAT,	/* both ways */
	PROTO_SHUTDOWN,		/* S->W: finish and exit; W->S: leaving */
	PROTO_REJOIN,		/* W->S: the tasks it kept (version 3) */
	PROTO_TYPE_MAX = PROTO_REJOIN,
};

const char *proto_type_name(int type);

struct proto_hello {
	uint8_t nonce[PROTO_NONCE_SIZE];
};

struct proto_auth {
	uint8_t nonce[PROTO_NONCE_SIZE];
	uint8_t mac[PROTO_MAC_SIZE];
	char *name;			/* "host:pid" or rank name */
	char *host;
	uint32_t pid;
	uint32_t cores;
	uint64_t memory;		/* bytes */
	/* since version 2: the batch job the worker runs in */
	char *job_id;			/* base id, "" when not in a job */
	int64_t job_index;		/* array element, or -1 */
	uint64_t job_end;		/* Unix seconds the job ends; 0 unknown */
	/* since version 3 */
	uint32_t gpus;			/* GPUs the worker offers */
	uint32_t tasks;			/* runs it kept from an earlier
					   scheduler, listed in REJOIN
					   frames after WELCOME; 0: none */
};

struct proto_welcome {
	uint32_t worker_id;
	uint32_t heartbeat_ms;
	uint8_t mac[PROTO_MAC_SIZE];
};

struct proto_run {
	uint64_t task_id;
	uint32_t attempt;		/* the task's runs started, this one
					   included (version 3) */
	uint8_t has_index;
	int64_t array_index;
	uint32_t cores;
	uint64_t memory_limit;
	uint64_t time_limit;		/* seconds */
	char **argv;			/* NULL-terminated */
	char **env;			/* NULL-terminated */
	char *cwd;			/* "" = inherit */
	char *stdout_path;		/* "" = default */
	char *stderr_path;
	/* since version 3 */
	uint32_t gpus;			/* GPUs reserved for the task */
	char *log_dir;			/* a stream without a path goes to
					   the worker log (state/worklog.h)
					   in this directory; "" = to
					   /dev/null */
};

struct proto_kill {
	uint64_t task_id;
};

struct proto_done {
	uint64_t task_id;
	uint32_t attempt;		/* as its RUN said (version 3) */
	int32_t exit_code;
	int32_t signal;
	uint64_t runtime_us;		/* the command's own run: spawned to
					   exited */
	uint64_t peak_memory;
	char *reason;			/* "" = none */
	/* since version 4 */
	uint64_t spawn_us;		/* RUN taken to the child running */
	uint64_t output_us;		/* exited to its output in place and
					   its pipes closed */
};

struct proto_heartbeat {
	uint64_t time_ms;
	uint32_t running;
	/* since version 4 */
	uint32_t interval_ms;		/* from the scheduler: the interval to
					   keep from now on; from a worker:
					   the one it keeps; 0: unchanged */
};

struct proto_shutdown {
	char *reason;
};

/* One run a worker kept while it had no scheduler: still running, or
 * ended with its DONE to follow. */
struct proto_claim {
	uint64_t task_id;
	uint32_t attempt;
	uint64_t running_us;		/* since its start (its runtime when
					   it ended) */
};

struct proto_rejoin {
	uint32_t count;			/* at most PROTO_MAX_LIST */
	struct proto_claim *claims;
};

/* Decoded frame; strings owned by the message (proto_msg_release). */
struct proto_msg {
	int type;
	union {
		struct proto_hello hello;
		struct proto_auth auth;
		struct proto_welcome welcome;
		struct proto_run run;
		struct proto_kill kill;
		struct proto_done done;
		struct proto_heartbeat heartbeat;
		struct proto_shutdown shutdown;
		struct proto_rejoin rejoin;
	} u;
};

/* Append one whole frame (header + payload) for `msg` to `out`.  NULL
 * strings and lists are sent as empty.  A message that fails proto_validate
 * still encodes, but the receiver will refuse the frame. */
void proto_encode(struct strbuf *out, const struct proto_msg *msg);

/* Check `msg` against the bounds a receiver enforces (known type, string
 * lengths, list and claim counts, has_index 0 or 1, payload at most
 * max_payload), so a sender can refuse e.g. an oversized task before it
 * reaches a worker. */
int proto_validate(const struct proto_msg *msg, uint32_t max_payload,
		   struct err *err);

/* Look at the first `avail` bytes of a stream.  Returns the whole frame
 * size when a complete frame is there, 0 when more bytes are needed, -1 +
 * err for a bad magic (from its first byte), version, type, flags or a
 * length above max_payload. */
long proto_frame_size(const uint8_t *buf, size_t avail, uint32_t max_payload,
		      struct err *err);

/* Decode one complete frame (as sized by proto_frame_size). -1 + err on any
 * malformed field; msg is then left empty.  On success every string and
 * list (NULL-terminated) of the message is non-NULL.  proto_msg_release
 * frees them and zeroes the message; it accepts an empty message. */
int proto_decode(const uint8_t *frame, size_t len, struct proto_msg *msg,
		 struct err *err);
void proto_msg_release(struct proto_msg *msg);

/* Take the next whole frame off a libevent input buffer and decode it.
 * Returns 1 with *msg filled (release it), 0 when the buffer holds no
 * whole frame yet, -1 + err for a malformed frame, or for a first few
 * bytes that cannot begin a header (the connection should be dropped; the
 * buffer is left as it was). */
struct evbuffer;
int proto_read(struct evbuffer *in, uint32_t max_payload,
	       struct proto_msg *msg, struct err *err);

/* Handshake proofs.  role is "worker" or "server"; a and b the nonces in
 * the order the header comment gives. */
void proto_mac(const char *token, const char *role,
	       const uint8_t a[PROTO_NONCE_SIZE],
	       const uint8_t b[PROTO_NONCE_SIZE], uint8_t out[PROTO_MAC_SIZE]);
int proto_mac_equal(const uint8_t a[PROTO_MAC_SIZE],
		    const uint8_t b[PROTO_MAC_SIZE]);	/* constant time */
int proto_random(void *buf, size_t len);		/* RAND_bytes */

#endif
