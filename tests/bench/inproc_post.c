// SPDX-License-Identifier: MIT
/*
 * inproc_post: the alternative to a probe -- the seed's approach, an HTTP
 * POST from inside the agent process for every event.
 *
 * Per event, in the calling thread: format the event JSON (with an RFC 3339
 * timestamp), sign it (Standard Webhooks HMAC-SHA256, base64), build the
 * headers and POST it with libcurl's easy API on one keep-alive connection,
 * waiting for the answer, as a synchronous webhook call in an agent loop
 * would.  Prints one JSON object with the cost per event in ns.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "bench_common.h"

static const unsigned char key[24] = "bench-secret-bytes-0123";

static size_t discard(char *data, size_t size, size_t nmemb, void *userp)
{
	(void)data;
	(void)userp;
	return size * nmemb;
}

static int post_one(CURL *easy, const char *url, uint64_t seq)
{
	char body[1024], to_sign[1200], sig_line[128], id_line[64], ts_line[64], when[32];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	struct curl_slist *h = NULL;
	int64_t now = bench_wall_ns();
	time_t sec = (time_t)(now / NS_PER_SEC);
	struct tm tm;
	long status = 0;
	int n, m;
	CURLcode rc;

	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(body, sizeof(body),
		     "{\"type\":\"agent.step.completed\",\"timestamp\":\"%s.%06dZ\",\"data\":{"
		     "\"agent_id\":\"%s\",\"step_id\":\"%s\",\"status\":\"%s\",\"usage\":%s,"
		     "\"tool_calls\":%s}}",
		     when, (int)(now % NS_PER_SEC / 1000), BENCH_AGENT_ID, BENCH_STEP_ID, BENCH_STATUS,
		     BENCH_USAGE, BENCH_TOOL_CALLS);
	snprintf(id_line, sizeof(id_line), "webhook-id: msg_inproc_%llu", (unsigned long long)seq);
	snprintf(ts_line, sizeof(ts_line), "webhook-timestamp: %lld", (long long)sec);
	m = snprintf(to_sign, sizeof(to_sign), "msg_inproc_%llu.%lld.%s", (unsigned long long)seq,
		     (long long)sec, body);
	HMAC(EVP_sha256(), key, sizeof(key), (unsigned char *)to_sign, (size_t)m, mac, &mac_len);
	n = snprintf(sig_line, sizeof(sig_line), "webhook-signature: v1,");
	EVP_EncodeBlock((unsigned char *)sig_line + n, mac, (int)mac_len);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	h = curl_slist_append(h, id_line);
	h = curl_slist_append(h, ts_line);
	h = curl_slist_append(h, sig_line);
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(easy);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	return rc == CURLE_OK && status >= 200 && status < 300 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "url", required_argument, NULL, 'u' }, { "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },      { 0 }
	};
	uint64_t count = 5000, failed = 0;
	const char *url = NULL;
	int64_t t0, t1;
	CURL *easy;
	int opt;

	while ((opt = getopt_long(argc, argv, "u:n:h", options, NULL)) != -1) {
		switch (opt) {
		case 'u': url = optarg; break;
		case 'n': count = bench_ull(optarg, "--count"); break;
		case 'h': printf("usage: inproc_post --url http://127.0.0.1:PORT/hooks [--count N]\n"); return 0;
		default: return 2;
		}
	}
	if (!url || strncmp(url, "http://127.0.0.1:", 17) != 0 || !count) {
		fprintf(stderr, "inproc_post: need --url http://127.0.0.1:PORT/...\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	easy = curl_easy_init();
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
	failed += post_one(easy, url, 0) != 0; /* connect outside the timing */
	t0 = bench_mono_ns();
	for (uint64_t i = 1; i <= count; i++)
		failed += post_one(easy, url, i) != 0;
	t1 = bench_mono_ns();
	printf("{\"events\": %llu, \"failed\": %llu, \"ns_per_event\": %.1f}\n",
	       (unsigned long long)count, (unsigned long long)failed,
	       (double)(t1 - t0) / (double)count);
	curl_easy_cleanup(easy);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
