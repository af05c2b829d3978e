// SPDX-License-Identifier: MIT
/* Standard Webhooks signing: the specification's published vector, rotation,
 * verification and secret parsing. */
#include <errno.h>
#include <limits.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "check.h"
#include "sign.h"

/* From the Standard Webhooks specification's examples. */
#define SPEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SPEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SPEC_TS 1614265330LL
#define SPEC_BODY "{\"test\": 2432232314}"
#define SPEC_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static void test_spec_vector(void)
{
	char sig[SIGN_SIGNATURE_LEN];
	struct sign_key key;

	CHECK(sign_key_parse(SPEC_SECRET, &key) == 0);
	CHECK(key.len == 24);
	CHECK(sign_signature(&key, SPEC_ID, SPEC_TS, SPEC_BODY, strlen(SPEC_BODY), sig) == 0);
	CHECK_STR_EQ(sig, SPEC_SIG);
	/* the reused MAC context must give the same answer twice */
	CHECK(sign_signature(&key, SPEC_ID, SPEC_TS, SPEC_BODY, strlen(SPEC_BODY), sig) == 0);
	CHECK_STR_EQ(sig, SPEC_SIG);
	sign_key_free(&key);
}

static void test_verify(void)
{
	struct sign_key key, other;
	const char *body = SPEC_BODY;
	size_t len = strlen(body);

	CHECK(sign_key_parse(SPEC_SECRET, &key) == 0);
	CHECK(sign_key_parse("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &other) == 0);
	CHECK(sign_verify(&key, SPEC_ID, SPEC_TS, body, len, SPEC_SIG) == 0);
	/* rotation: several signatures, one of which matches */
	CHECK(sign_verify(&key, SPEC_ID, SPEC_TS, body, len,
			  "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " SPEC_SIG) == 0);
	CHECK(sign_verify(&other, SPEC_ID, SPEC_TS, body, len, SPEC_SIG) == -EBADMSG);
	CHECK(sign_verify(&key, SPEC_ID, SPEC_TS + 1, body, len, SPEC_SIG) == -EBADMSG);
	CHECK(sign_verify(&key, "msg_other", SPEC_TS, body, len, SPEC_SIG) == -EBADMSG);
	CHECK(sign_verify(&key, SPEC_ID, SPEC_TS, "{\"test\": 2432232315}", len, SPEC_SIG) ==
	      -EBADMSG);
	CHECK(sign_verify(&key, SPEC_ID, SPEC_TS, body, len, "") == -EINVAL);
	sign_key_free(&key);
	sign_key_free(&other);
}

static void test_bad_secrets(void)
{
	static const char *const bad[] = {
		"",                                        /* empty */
		"whsec_",                                  /* nothing after the prefix */
		"whsec_c2hvcnQ=",                          /* 5 bytes: too short */
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",   /* not a multiple of 4 */
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La!aSw",  /* not base64 */
		"whsec_MfKQ9r8GKYqrTwjU=D8ILPZIo2LaLaSw",  /* padding in the middle */
		"whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB", /* 66 bytes */
	};
	struct sign_key key;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(sign_key_parse(bad[i], &key) == -EINVAL);
		CHECK(key.len == 0);
		CHECK(key.mac == NULL);
	}
	CHECK(sign_key_parse("whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQQ==", &key) == 0); /* 64: the most */
	sign_key_free(&key);
	CHECK(sign_key_parse(NULL, &key) == -EINVAL);
	/* the prefix is optional */
	CHECK(sign_key_parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &key) == 0);
	sign_key_free(&key);
}

static void test_base64(void)
{
	unsigned char out[8];
	char text[16];

	CHECK(base64_encode((const unsigned char *)"ab", 2, text, sizeof(text)) == 4);
	CHECK_STR_EQ(text, "YWI=");
	CHECK(base64_encode((const unsigned char *)"abc", 3, text, 4) == 0); /* no room for NUL */
	CHECK(base64_decode("YWJj", 4, out, sizeof(out)) == 3);
	CHECK(memcmp(out, "abc", 3) == 0);
	CHECK(base64_decode("YWI=", 4, out, sizeof(out)) == 2);
	CHECK(base64_decode("YQ==", 4, out, sizeof(out)) == 1);
	CHECK(base64_decode("Y===", 4, out, sizeof(out)) == -EINVAL);
	CHECK(base64_decode("YWJjZGVmZ2hp", 12, out, 8) == -EINVAL); /* 9 bytes into 8 */
}

/* The timestamp goes into the MAC as its decimal text, whatever its value:
 * compare with a one-shot HMAC over the formatted message. */
static void test_timestamps(void)
{
	static const long long stamps[] = { 0, 7, -5, 1614265330LL, LLONG_MAX, LLONG_MIN };
	struct sign_key key;

	CHECK(sign_key_parse(SPEC_SECRET, &key) == 0);
	for (size_t i = 0; i < sizeof(stamps) / sizeof(stamps[0]); i++) {
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int mac_len = 0;
		char msg[128], sig[SIGN_SIGNATURE_LEN], want[SIGN_SIGNATURE_LEN];
		int n = snprintf(msg, sizeof(msg), "%s.%lld.%s", SPEC_ID, stamps[i], SPEC_BODY);

		HMAC(EVP_sha256(), key.bytes, (int)key.len, (unsigned char *)msg, (size_t)n, mac,
		     &mac_len);
		memcpy(want, "v1,", 3);
		base64_encode(mac, mac_len, want + 3, sizeof(want) - 3);
		CHECK(sign_signature(&key, SPEC_ID, stamps[i], SPEC_BODY, strlen(SPEC_BODY), sig) == 0);
		CHECK_STR_EQ(sig, want);
	}
	sign_key_free(&key);
}

int main(void)
{
	test_spec_vector();
	test_timestamps();
	test_verify();
	test_bad_secrets();
	test_base64();
	return check_summary("test_sign");
}
