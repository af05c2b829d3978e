/*
 * USDT provider for probehook: one probe per webhook event type.
 *
 * The order and types of the arguments are the public API (see the catalog
 * in include/probehook/catalog.h, which a test keeps in step with this file).
 * Text and JSON arguments are NUL-terminated strings; numbers are int64_t.
 */
provider probehook {
	/* agent_id, step_id, status, usage (JSON), tool_calls (JSON) */
	probe agent__step__completed(const char *, const char *, const char *, const char *, const char *);
	/* agent_id, step_id, error, error_type */
	probe agent__step__failed(const char *, const char *, const char *, const char *);
	/* agent_id, tool_id, tool_name */
	probe agent__tool__attached(const char *, const char *, const char *);
	/* agent_id, tool_id */
	probe agent__tool__detached(const char *, const char *);
	/* agent_id, run_id (may be NULL), message_count, usage (JSON) */
	probe agent__message__sent(const char *, const char *, int64_t, const char *);
	/* agent_id, tool_name, tool_args (JSON), status, execution_time_us */
	probe tool__execution__completed(const char *, const char *, const char *, const char *, int64_t);
	/* agent_id, run_id, status, completed_at (Unix ns), usage (JSON) */
	probe agent__run__completed(const char *, const char *, const char *, int64_t, const char *);
	/* agent_id, job_id, status, completed_at (Unix ns) */
	probe agent__job__completed(const char *, const char *, const char *, int64_t);
};
