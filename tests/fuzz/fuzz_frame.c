/*
 * fuzz_frame: the worker protocol's frame decoder and stream reader.
 *
 * The input is a byte stream as a worker or scheduler would receive it.
 * Oracles, beyond "does not crash":
 *   - a frame that decodes passes proto_validate and re-encodes to the
 *     very bytes it came from (the encoding is canonical: lengths exact,
 *     flags 0, has_index 0 or 1), which decode to the same frame again;
 *   - proto_read over the whole stream at once, and over the same bytes
 *     arriving in chunks of random sizes (each chunk its own evbuffer
 *     chain, so a frame straddles chains), yields the same frames in the
 *     same order and the same final verdict;
 *   - those frames are the ones proto_frame_size + proto_decode find
 *     walking the bytes directly.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proto/proto.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PAYLOAD PROTO_MAX_FRAME

/* The frames one way of reading found, each re-encoded, back to back. */
struct seen {
	struct strbuf frames;
	unsigned n;
	int error;			/* the reader refused the stream */
};

static void die(const char *what, const uint8_t *frame, size_t len)
{
	fprintf(stderr, "fuzz_frame: %s (frame of %zu bytes)\n", what, len);
	for (size_t i = 0; i < len && i < 64; i++)
		fprintf(stderr, "%02x%s", frame[i], i % 16 == 15 ? "\n" : " ");
	fprintf(stderr, "\n");
	abort();
}

/* A decoded frame must validate and encode back to `frame`; decoding
 * that again gives the same bytes once more. */
static void check_round_trip(const struct proto_msg *m, const uint8_t *frame,
			     size_t len)
{
	struct strbuf enc = STRBUF_INIT, again = STRBUF_INIT;
	struct proto_msg m2;
	struct err err = { "" };

	if (proto_validate(m, MAX_PAYLOAD, &err) < 0) {
		fprintf(stderr, "fuzz_frame: %s\n", err.text);
		die("a decoded frame does not validate", frame, len);
	}
	proto_encode(&enc, m);
	if (enc.len != len || memcmp(enc.buf, frame, len))
		die("a decoded frame re-encodes to other bytes", frame, len);
	if (proto_decode((const uint8_t *)enc.buf, enc.len, &m2, &err) < 0) {
		fprintf(stderr, "fuzz_frame: %s\n", err.text);
		die("a re-encoded frame does not decode", frame, len);
	}
	proto_encode(&again, &m2);
	if (again.len != len || memcmp(again.buf, frame, len))
		die("a frame decoded twice changed", frame, len);
	proto_msg_release(&m2);
	strbuf_release(&enc);
	strbuf_release(&again);
}

static void record(struct seen *s, const struct proto_msg *m)
{
	proto_encode(&s->frames, m);
	s->n++;
}

/* Walk the bytes with proto_frame_size and proto_decode.  *stop is where
 * the walk ended (the start of the frame it could not take). */
static void walk(const uint8_t *data, size_t size, struct seen *s,
		 size_t *stop)
{
	size_t off = 0;

	for (;;) {
		struct err err = { "" };
		struct proto_msg m;
		long n = proto_frame_size(data + off, size - off, MAX_PAYLOAD,
					  &err);

		if (n < 0) {
			if (!err.text[0])
				die("proto_frame_size failed with no message",
				    data + off, size - off);
			s->error = 1;
			break;
		}
		if (n == 0)
			break;
		if ((size_t)n > size - off || n < PROTO_HEADER_SIZE)
			die("proto_frame_size sized a frame past the bytes given",
			    data + off, size - off);
		if (proto_decode(data + off, (size_t)n, &m, &err) < 0) {
			if (!err.text[0])
				die("proto_decode failed with no message", data + off,
				    (size_t)n);
			if (m.type != 0)
				die("a failed decode left a message behind", data + off,
				    (size_t)n);
			s->error = 1;
			break;
		}
		check_round_trip(&m, data + off, (size_t)n);
		record(s, &m);
		proto_msg_release(&m);
		off += (size_t)n;
	}
	*stop = off;
}

/* Take every whole frame proto_read gives; 0 when it wants more bytes,
 * -1 once it refused the stream (the buffer is then left as it was). */
static int drain(struct evbuffer *in, struct seen *s)
{
	for (;;) {
		struct err err = { "" };
		struct proto_msg m;
		size_t before = evbuffer_get_length(in);
		int rc = proto_read(in, MAX_PAYLOAD, &m, &err);

		if (rc == 0) {
			if (evbuffer_get_length(in) != before)
				die("proto_read took bytes without a frame", NULL, 0);
			return 0;
		}
		if (rc < 0) {
			if (!err.text[0])
				die("proto_read failed with no message", NULL, 0);
			if (evbuffer_get_length(in) != before)
				die("proto_read took bytes of a frame it refused",
				    NULL, 0);
			s->error = 1;
			return -1;
		}
		record(s, &m);
		proto_msg_release(&m);
	}
}

/* A small deterministic generator seeded from the input, so a crash
 * replays with the same chunks. */
static uint64_t next_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void read_chunked(const uint8_t *data, size_t size, uint64_t seed,
			 struct seen *s)
{
	struct evbuffer *in = evbuffer_new();
	size_t off = 0;

	if (!in)
		abort();
	while (off < size) {
		/* Mostly short chunks, sometimes a long one. */
		uint64_t r = next_rand(&seed);
		size_t n = r % 4 == 0 ? (size_t)(r >> 8) % 4096 + 1 :
			   (size_t)(r >> 8) % 17 + 1;
		struct evbuffer *chunk = evbuffer_new();

		if (n > size - off)
			n = size - off;
		if (!chunk || evbuffer_add(chunk, data + off, n) < 0 ||
		    evbuffer_add_buffer(in, chunk) < 0)
			abort();
		evbuffer_free(chunk);
		off += n;
		if (drain(in, s) < 0)
			break;
	}
	evbuffer_free(in);
}

static void same(const struct seen *a, const struct seen *b, const char *what)
{
	if (a->n != b->n || a->frames.len != b->frames.len ||
	    memcmp(a->frames.buf, b->frames.buf, a->frames.len)) {
		fprintf(stderr, "fuzz_frame: %s: %u frames (%zu bytes) against %u (%zu bytes)\n",
			what, a->n, a->frames.len, b->n, b->frames.len);
		abort();
	}
	if (a->error != b->error) {
		fprintf(stderr, "fuzz_frame: %s: verdict %d against %d\n", what,
			a->error, b->error);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen direct = { STRBUF_INIT, 0, 0 };
	struct seen whole = { STRBUF_INIT, 0, 0 };
	struct seen chunked = { STRBUF_INIT, 0, 0 };
	struct evbuffer *in;
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ size;
	size_t stop;

	walk(data, size, &direct, &stop);

	in = evbuffer_new();
	if (!in || evbuffer_add(in, data, size) < 0)
		abort();
	drain(in, &whole);
	evbuffer_free(in);

	for (size_t i = 0; i < size && i < 64; i++)
		seed = (seed ^ data[i]) * 0x100000001b3ull;
	for (int round = 0; round < 3; round++) {
		read_chunked(data, size, seed + (uint64_t)round, &chunked);
		same(&whole, &chunked, "whole stream and chunked stream differ");
		strbuf_reset(&chunked.frames);
		chunked.n = 0;
		chunked.error = 0;
	}

	/* proto_read looks at nothing before a whole header is in, so it
	 * refuses what the direct walk refused unless fewer than a
	 * header's bytes were left there. */
	if (whole.n != direct.n || whole.frames.len != direct.frames.len ||
	    memcmp(whole.frames.buf, direct.frames.buf, whole.frames.len)) {
		fprintf(stderr, "fuzz_frame: proto_read found %u frames, the walk %u\n",
			whole.n, direct.n);
		abort();
	}
	if (whole.error && !direct.error)
		die("proto_read refused a stream the walk took", data, size);
	if (direct.error && !whole.error && size - stop >= PROTO_HEADER_SIZE)
		die("proto_read took a frame the walk refused", data + stop,
		    size - stop);

	strbuf_release(&direct.frames);
	strbuf_release(&whole.frames);
	strbuf_release(&chunked.frames);
	return 0;
}
