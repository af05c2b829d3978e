// SPDX-License-Identifier: MIT
/*
 * curl_multi_bench: the bare libcurl ceiling for delivery throughput.
 *
 * Posts one pre-built webhook --count times to --url with --conns keep-alive
 * connections (libcurl multi, one easy handle per connection, re-added as
 * soon as its request completes).  The request comes from --request FILE: a
 * raw HTTP request as bench_rx --save-request captured it from probehookd,
 * whose body and webhook-* headers are sent unchanged -- same bytes, no
 * per-request JSON building or signing.
 *
 * Prints one JSON object: posted, ok, elapsed, rate.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <string.h>
#include <strings.h>

#include "bench_common.h"

#define MAX_CONNS 256

static size_t discard(char *data, size_t size, size_t nmemb, void *userp)
{
	(void)data;
	(void)userp;
	return size * nmemb;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		return NULL;
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		return NULL;
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* Keeps the webhook headers of a raw request; returns its body. */
static char *parse_request(char *raw, size_t len, struct curl_slist **headers, size_t *body_len)
{
	char *end = strstr(raw, "\r\n\r\n"), *line, *save = NULL;

	if (!end)
		return NULL;
	*end = '\0';
	*body_len = len - (size_t)(end + 4 - raw);
	line = strtok_r(raw, "\r\n", &save); /* request line */
	while ((line = strtok_r(NULL, "\r\n", &save)))
		if (strncasecmp(line, "webhook-", 8) == 0 || strncasecmp(line, "content-type:", 13) == 0 ||
		    strncasecmp(line, "user-agent:", 11) == 0)
			*headers = curl_slist_append(*headers, line);
	*headers = curl_slist_append(*headers, "Expect:");
	return end + 4;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "url", required_argument, NULL, 'u' },   { "request", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'n' }, { "conns", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },        { 0 }
	};
	const char *url = NULL, *request = NULL;
	uint64_t count = 100000, conns = 64, started = 0, done = 0, ok = 0;
	struct curl_slist *headers = NULL;
	CURL *easy[MAX_CONNS];
	size_t raw_len, body_len;
	char *raw, *body;
	int64_t t0, t1;
	CURLM *multi;
	int opt;

	while ((opt = getopt_long(argc, argv, "u:r:n:c:h", options, NULL)) != -1) {
		switch (opt) {
		case 'u': url = optarg; break;
		case 'r': request = optarg; break;
		case 'n': count = bench_ull(optarg, "--count"); break;
		case 'c': conns = bench_ull(optarg, "--conns"); break;
		case 'h':
			printf("usage: curl_multi_bench --url http://127.0.0.1:PORT/hooks --request FILE "
			       "[--count N] [--conns C]\n");
			return 0;
		default: return 2;
		}
	}
	if (!url || !request || !conns || conns > MAX_CONNS ||
	    strncmp(url, "http://127.0.0.1:", 17) != 0) {
		fprintf(stderr, "curl_multi_bench: need --url http://127.0.0.1:PORT/... and --request\n");
		return 2;
	}
	raw = read_file(request, &raw_len);
	body = raw ? parse_request(raw, raw_len, &headers, &body_len) : NULL;
	if (!body) {
		fprintf(stderr, "curl_multi_bench: cannot read a request from %s\n", request);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	multi = curl_multi_init();
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conns);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)conns);
	if (conns > count)
		conns = count;
	t0 = bench_mono_ns();
	for (uint64_t i = 0; i < conns; i++) {
		easy[i] = curl_easy_init();
		curl_easy_setopt(easy[i], CURLOPT_URL, url);
		curl_easy_setopt(easy[i], CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(easy[i], CURLOPT_POSTFIELDSIZE, (long)body_len);
		curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(easy[i], CURLOPT_NOSIGNAL, 1L);
		curl_multi_add_handle(multi, easy[i]);
		started++;
	}
	while (done < count) {
		int running, left;
		CURLMsg *msg;

		curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &left))) {
			long status = 0;
			CURL *e = msg->easy_handle;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
			done++;
			ok += msg->data.result == CURLE_OK && status >= 200 && status < 300;
			curl_multi_remove_handle(multi, e);
			if (started < count) {
				curl_multi_add_handle(multi, e);
				started++;
			}
		}
		if (done < count)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
	}
	t1 = bench_mono_ns();
	printf("{\"posted\": %llu, \"ok\": %llu, \"conns\": %llu, \"elapsed_s\": %.6f, \"rate\": %.1f}\n",
	       (unsigned long long)done, (unsigned long long)ok, (unsigned long long)conns,
	       (double)(t1 - t0) / 1e9, (double)done * 1e9 / (double)(t1 - t0));
	for (uint64_t i = 0; i < conns; i++)
		curl_easy_cleanup(easy[i]);
	curl_multi_cleanup(multi);
	curl_slist_free_all(headers);
	free(raw);
	curl_global_cleanup();
	return ok == count ? 0 : 1;
}
