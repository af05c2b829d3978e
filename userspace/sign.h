/* SPDX-License-Identifier: MIT */
/*
 * Standard Webhooks signatures: HMAC-SHA256 over "id.timestamp.body" with a
 * secret given as whsec_<base64>, sent as "v1,<base64 mac>".
 */
#ifndef PROBEHOOK_SIGN_H
#define PROBEHOOK_SIGN_H

#include <stddef.h>

#define SIGN_KEY_MAX 64
/* "v1," + base64 of 32 bytes + NUL */
#define SIGN_SIGNATURE_LEN (3 + 44 + 1)

/* A decoded secret and an HMAC context keyed with it, reused per message
 * (about 3x cheaper than a one-shot HMAC).  Not to be copied by value. */
struct sign_key {
	unsigned char bytes[SIGN_KEY_MAX];
	size_t len;
	struct evp_mac_ctx_st *mac;
};

/* Decode "whsec_<base64>" (the prefix is optional).  -EINVAL when it is not
 * base64, decodes to fewer than 16 or more than SIGN_KEY_MAX bytes. */
int sign_key_parse(const char *secret, struct sign_key *key);
/* Wipe the key and free its context; safe on a zeroed or freed key. */
void sign_key_free(struct sign_key *key);

/* Write "v1,<base64>" for one key into out (SIGN_SIGNATURE_LEN bytes). */
int sign_signature(const struct sign_key *key, const char *msg_id, long long timestamp,
		   const char *body, size_t body_len, char out[SIGN_SIGNATURE_LEN]);

/*
 * Verify a webhook-signature header value (space-separated "v1,<b64>"
 * entries) against one key.  Returns 0 when any entry matches, -EBADMSG
 * when none does, -EINVAL when the header is malformed.
 */
int sign_verify(const struct sign_key *key, const char *msg_id, long long timestamp,
		const char *body, size_t body_len, const char *header);

/* base64 helpers (standard alphabet, padded). */
size_t base64_encode(const unsigned char *in, size_t len, char *out, size_t out_size);
/* Returns decoded length, or -EINVAL. */
long base64_decode(const char *in, size_t len, unsigned char *out, size_t out_size);

#endif
