// SPDX-License-Identifier: MIT
#include "sign.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#define WHSEC_PREFIX "whsec_"

size_t base64_encode(const unsigned char *in, size_t len, char *out, size_t out_size)
{
	size_t need = 4 * ((len + 2) / 3) + 1;

	if (out_size < need)
		return 0;
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

static int base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict decoder: padding only at the end, no whitespace. */
long base64_decode(const char *in, size_t len, unsigned char *out, size_t out_size)
{
	unsigned int acc = 0;
	size_t n = 0, pad = 0, i;
	int bits = 0;

	if (len % 4)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		int v;

		if (in[i] == '=') {
			if (i + 2 < len || ++pad > 2)
				return -EINVAL;
			continue;
		}
		if (pad)
			return -EINVAL;
		v = base64_value(in[i]);
		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= out_size)
				return -EINVAL;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return (long)n;
}

static int sign_key_init_mac(struct sign_key *key)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	int err = -EIO;

	if (!hmac)
		return -EIO;
	key->mac = EVP_MAC_CTX_new(hmac);
	if (key->mac && EVP_MAC_init(key->mac, key->bytes, key->len, params))
		err = 0;
	EVP_MAC_free(hmac);
	return err;
}

int sign_key_parse(const char *secret, struct sign_key *key)
{
	unsigned char buf[SIGN_KEY_MAX + 3];
	long n;

	memset(key, 0, sizeof(*key));
	if (!secret)
		return -EINVAL;
	if (strncmp(secret, WHSEC_PREFIX, strlen(WHSEC_PREFIX)) == 0)
		secret += strlen(WHSEC_PREFIX);
	n = base64_decode(secret, strlen(secret), buf, sizeof(buf));
	if (n < 16 || n > SIGN_KEY_MAX) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return -EINVAL;
	}
	memcpy(key->bytes, buf, (size_t)n);
	key->len = (size_t)n;
	OPENSSL_cleanse(buf, sizeof(buf));
	if (sign_key_init_mac(key)) {
		sign_key_free(key);
		return -EIO;
	}
	return 0;
}

void sign_key_free(struct sign_key *key)
{
	EVP_MAC_CTX_free(key->mac);
	OPENSSL_cleanse(key, sizeof(*key));
}

static int sign_mac(const struct sign_key *key, const char *msg_id, long long timestamp,
		    const char *body, size_t body_len, unsigned char mac[32])
{
	char stamp[24], *p = stamp + sizeof(stamp) - 1;
	unsigned long long t = timestamp < 0 ? 0 - (unsigned long long)timestamp :
					       (unsigned long long)timestamp;
	size_t mac_len = 0;
	int ok;

	if (!key->mac)
		return -EINVAL;
	/* ".<timestamp>." by hand: this runs once per secret per request */
	*p = '\0';
	*--p = '.';
	do
		*--p = (char)('0' + t % 10);
	while ((t /= 10) > 0);
	if (timestamp < 0)
		*--p = '-';
	*--p = '.';
	memmove(stamp, p, (size_t)(stamp + sizeof(stamp) - p));
	/* Re-initialising with a NULL key keeps the key and resets the state. */
	ok = EVP_MAC_init(key->mac, NULL, 0, NULL) &&
	     EVP_MAC_update(key->mac, (const unsigned char *)msg_id, strlen(msg_id)) &&
	     EVP_MAC_update(key->mac, (const unsigned char *)stamp, strlen(stamp)) &&
	     EVP_MAC_update(key->mac, (const unsigned char *)body, body_len) &&
	     EVP_MAC_final(key->mac, mac, &mac_len, 32) && mac_len == 32;
	return ok ? 0 : -EIO;
}

int sign_signature(const struct sign_key *key, const char *msg_id, long long timestamp,
		   const char *body, size_t body_len, char out[SIGN_SIGNATURE_LEN])
{
	unsigned char mac[32];
	int err;

	err = sign_mac(key, msg_id, timestamp, body, body_len, mac);
	if (err)
		return err;
	memcpy(out, "v1,", 3);
	base64_encode(mac, sizeof(mac), out + 3, SIGN_SIGNATURE_LEN - 3);
	return 0;
}

int sign_verify(const struct sign_key *key, const char *msg_id, long long timestamp,
		const char *body, size_t body_len, const char *header)
{
	char expected[SIGN_SIGNATURE_LEN];
	const char *p = header;
	int err, seen = 0;

	err = sign_signature(key, msg_id, timestamp, body, body_len, expected);
	if (err)
		return err;
	while (*p) {
		size_t len;

		while (*p == ' ')
			p++;
		len = strcspn(p, " ");
		if (!len)
			break;
		seen++;
		if (len == strlen(expected) && CRYPTO_memcmp(p, expected, len) == 0)
			return 0;
		p += len;
	}
	return seen ? -EBADMSG : -EINVAL;
}
