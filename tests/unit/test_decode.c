// SPDX-License-Identifier: MIT
/* Record decoding: good records decode; every inconsistency is refused. */
#include <errno.h>

#include "check.h"
#include "decode.h"
#include "record_builder.h"

static const struct test_arg step_args[] = {
	{ .text = "agent-42" }, { .text = "step-1" }, { .text = "completed" },
	{ .text = "{\"total_tokens\":3}" }, { .text = "[]" },
};

static void test_good_record(void)
{
	struct decoded_event ev;
	struct ph_record *rec;
	size_t size;

	rec = build_record(0, step_args, &size);
	CHECK(decode_record(rec, size, &ev, NULL) == 0);
	CHECK(ev.def && strcmp(ev.def->type, "agent.step.completed") == 0);
	CHECK(ev.args[0].len == 8 && memcmp(ev.args[0].text, "agent-42", 8) == 0);
	CHECK(ev.args[3].len == 18 && memcmp(ev.args[3].text, "{\"total_tokens\":3}", 18) == 0);
	CHECK(ev.args[4].len == 2 && memcmp(ev.args[4].text, "[]", 2) == 0);
	free(rec);
}

static void test_states(void)
{
	struct test_arg args[] = {
		{ .text = "agent-42" }, { .text = NULL }, { .value = 3 }, { .text = "{", .truncated = 1 },
	};
	struct decoded_event ev;
	struct ph_record *rec;
	size_t size;

	rec = build_record(4, args, &size); /* agent.message.sent */
	CHECK(decode_record(rec, size, &ev, NULL) == 0);
	CHECK(ev.args[1].state == ARG_NULL);
	CHECK(ev.args[2].state == ARG_OK && ev.args[2].value == 3);
	CHECK(ev.args[3].state == ARG_TRUNCATED && ev.args[3].len == 1);
	free(rec);

	args[3] = (struct test_arg){ .unreadable = 1 };
	rec = build_record(4, args, &size);
	CHECK(decode_record(rec, size, &ev, NULL) == 0);
	CHECK(ev.args[3].state == ARG_UNREADABLE);
	free(rec);
}

/* Each mutation must be refused with the stated error. */
static void test_malformed(void)
{
	struct decoded_event ev;
	struct ph_record *rec;
	const char *why;
	size_t size;

	rec = build_record(0, step_args, &size);
	CHECK(decode_record(rec, sizeof(*rec) - 1, &ev, &why) == -EBADMSG);
	CHECK(decode_record(rec, size - 1, &ev, &why) == -EBADMSG);

	rec->version = 99;
	CHECK(decode_record(rec, size, &ev, &why) == -EPROTO);
	rec->version = PH_RECORD_VERSION;

	rec->probe_id = PROBEHOOK_EVENT_COUNT;
	CHECK(decode_record(rec, size, &ev, &why) == -EPROTO);
	rec->probe_id = 0;

	rec->nargs = 2;
	CHECK(decode_record(rec, size, &ev, &why) == -EBADMSG);
	rec->nargs = 5;

	rec->arg_len[0] += 1; /* lengths no longer add up */
	CHECK(decode_record(rec, size, &ev, &why) == -EBADMSG);
	rec->arg_len[0] -= 1;

	rec->arg_len[5] = 1; /* a length in an unused slot */
	rec->arg_len[0] -= 1;
	CHECK(decode_record(rec, size, &ev, &why) == -EBADMSG);
	CHECK(why && strstr(why, "non-string"));
	rec->arg_len[5] = 0;
	rec->arg_len[0] += 1;

	rec->arg_len[1] = 0xffffffffu; /* overflow attempt */
	CHECK(decode_record(rec, size, &ev, &why) == -EBADMSG);
	free(rec);
}

static void test_length_for_null_arg(void)
{
	struct test_arg args[] = {
		{ .text = "a" }, { .text = "b" }, { .value = 1 }, { .text = "{}" },
	};
	struct decoded_event ev;
	struct ph_record *rec;
	size_t size;

	rec = build_record(4, args, &size);
	rec->null_mask |= 1u << 1; /* claims NULL yet carries bytes */
	CHECK(decode_record(rec, size, &ev, NULL) == -EBADMSG);
	free(rec);
}

int main(void)
{
	test_good_record();
	test_states();
	test_malformed();
	test_length_for_null_arg();
	return check_summary("test_decode");
}
