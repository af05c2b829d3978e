// SPDX-License-Identifier: MIT
/* CRC-32C: the standard check value, published vectors, chaining, and the
 * sliced fast path against a bit-at-a-time reference at every alignment. */
#include <stdint.h>

#include "check.h"
#include "crc32c.h"

/* The definition, one bit at a time: slow, obviously right. */
static uint32_t crc32c_reference(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;
	int bit;

	while (len--) {
		crc ^= *p++;
		for (bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static void test_vectors(void)
{
	uint8_t buf[32];
	size_t i;

	CHECK(crc32c(0, "123456789", 9) == 0xe3069283u);
	CHECK(crc32c(0, "", 0) == 0);
	/* RFC 3720 (iSCSI), appendix B.4 */
	memset(buf, 0, sizeof(buf));
	CHECK(crc32c(0, buf, sizeof(buf)) == 0x8a9136aau);
	memset(buf, 0xff, sizeof(buf));
	CHECK(crc32c(0, buf, sizeof(buf)) == 0x62a8ab43u);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	CHECK(crc32c(0, buf, sizeof(buf)) == 0x46dd794eu);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(31 - i);
	CHECK(crc32c(0, buf, sizeof(buf)) == 0x113fdb5cu);
}

static void test_against_reference(void)
{
	uint8_t data[1024 + 8];
	uint32_t x = 2463534242u;
	size_t i, len, align, split;
	int mismatches = 0, chain_mismatches = 0;

	for (i = 0; i < sizeof(data); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		data[i] = (uint8_t)x;
	}
	for (align = 0; align < 8; align++)
		for (len = 0; len <= 300; len++)
			mismatches += crc32c(0, data + align, len) !=
				      crc32c_reference(data + align, len);
	CHECK(mismatches == 0);
	CHECK(crc32c(0, data, 1024) == crc32c_reference(data, 1024));
	/* chained in two pieces, split anywhere, equals the whole */
	for (split = 0; split <= 100; split++)
		chain_mismatches += crc32c(crc32c(0, data + 3, split), data + 3 + split,
					   100 - split) != crc32c(0, data + 3, 100);
	CHECK(chain_mismatches == 0);
}

int main(void)
{
	test_vectors();
	test_against_reference();
	return check_summary("test_crc32c");
}
