/*
 * bench_proto: frames per second through proto_encode + proto_frame_size +
 * proto_decode, for a typical RUN and DONE frame, against a baseline that
 * copies the same bytes with memcpy in the same run.  Prints figures; it
 * asserts nothing about time.
 *
 *	bench_proto [iterations]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/proto.h"

#define LIT(s) ((char *)(s))

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keeps the compiler from dropping work whose result nobody reads. */
static volatile uint64_t sink;

static double bench_memcpy(const struct strbuf *frame, long n)
{
	uint8_t *dst = malloc(frame->len);
	uint64_t sum = 0;
	double t0 = now_s();

	for (long i = 0; i < n; i++) {
		memcpy(dst, frame->buf, frame->len);
		sum += dst[i % frame->len];
		__asm__ __volatile__("" : : "r"(dst) : "memory");
	}
	double t = now_s() - t0;
	sink += sum;
	free(dst);
	return t;
}

static double bench_codec(const struct proto_msg *msg, long n)
{
	struct strbuf sb = STRBUF_INIT;
	struct proto_msg out;
	struct err err;
	uint64_t sum = 0;
	double t0 = now_s();

	for (long i = 0; i < n; i++) {
		long size;

		strbuf_reset(&sb);
		proto_encode(&sb, msg);
		size = proto_frame_size((uint8_t *)sb.buf, sb.len,
					PROTO_MAX_FRAME, &err);
		if (size <= 0 || proto_decode((uint8_t *)sb.buf, (size_t)size,
					      &out, &err) < 0) {
			fprintf(stderr, "bench_proto: %s\n", err.text);
			exit(1);
		}
		sum += (uint64_t)out.type;
		proto_msg_release(&out);
	}
	double t = now_s() - t0;
	sink += sum;
	strbuf_release(&sb);
	return t;
}

static void report(const char *what, const struct proto_msg *msg, long n)
{
	struct strbuf frame = STRBUF_INIT;
	double base, codec;

	proto_encode(&frame, msg);
	bench_codec(msg, n / 10);	/* warm up caches and the allocator */
	base = bench_memcpy(&frame, n);
	codec = bench_codec(msg, n);
	printf("%-5s %4zu-byte frame: encode+decode %9.0f frames/s, "
	       "memcpy %11.0f copies/s, codec/memcpy time ratio %.1f\n",
	       what, frame.len, n / codec, n / base, codec / base);
	printf("%-5s encode+decode rate is %.1fx a 50000 tasks/s scheduler\n",
	       what, (n / codec) / 50000.0);
	strbuf_release(&frame);
}

int main(int argc, char **argv)
{
	static char *run_argv[] = {
		LIT("/glade/u/home/user/bin/simulate"), LIT("--input"),
		LIT("/glade/scratch/user/run/input-000123.nc"), LIT("--steps"),
		LIT("1000"), NULL,
	};
	static char *run_env[] = {
		LIT("OMP_NUM_THREADS=4"), LIT("CASE=b.e21.BHIST.f09_g17"), NULL,
	};
	long n = argc > 1 ? atol(argv[1]) : 500000;
	struct proto_msg run, done;

	if (n <= 0) {
		fprintf(stderr, "usage: bench_proto [iterations]\n");
		return 2;
	}
	memset(&run, 0, sizeof(run));
	run.type = PROTO_RUN;
	run.u.run.task_id = 123456789;
	run.u.run.has_index = 1;
	run.u.run.array_index = 123;
	run.u.run.cores = 4;
	run.u.run.memory_limit = 8ull << 30;
	run.u.run.time_limit = 3600;
	run.u.run.argv = run_argv;
	run.u.run.env = run_env;
	run.u.run.cwd = LIT("/glade/scratch/user/run");
	run.u.run.stdout_path = LIT("/glade/scratch/user/run/logs/123456789.out");
	run.u.run.stderr_path = LIT("/glade/scratch/user/run/logs/123456789.err");

	memset(&done, 0, sizeof(done));
	done.type = PROTO_DONE;
	done.u.done.task_id = 123456789;
	done.u.done.runtime_us = 1234567;
	done.u.done.peak_memory = 3ull << 30;
	done.u.done.reason = LIT("");

	printf("bench_proto: %ld iterations each\n", n);
	report("RUN", &run, n);
	report("DONE", &done, n);
	return 0;
}
