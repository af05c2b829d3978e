// SPDX-License-Identifier: MIT
/*
 * Table-driven CRC-32C, eight bytes per step: the spool checksums every
 * event body on the collector's hot path, and one table lookup per byte
 * would cost as much as the write itself.
 */
#include "crc32c.h"

#include <string.h>

#include "crc32c_table.h"

static uint32_t crc32c_bytes(uint32_t crc, const unsigned char *p, size_t len)
{
	while (len--)
		crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t lo, hi;

	crc = ~crc;
	/* Byte at a time up to alignment, so the 8-byte loads below are aligned. */
	while (len && ((uintptr_t)p & 7)) {
		crc = crc32c_bytes(crc, p++, 1);
		len--;
	}
	for (; len >= 8; p += 8, len -= 8) {
		/* memcpy, not a cast: no aliasing questions, and it compiles to a load */
		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		lo = __builtin_bswap32(lo);
		hi = __builtin_bswap32(hi);
#endif
		lo ^= crc;
		crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
		      crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
		      crc32c_table[3][hi & 0xff] ^ crc32c_table[2][(hi >> 8) & 0xff] ^
		      crc32c_table[1][(hi >> 16) & 0xff] ^ crc32c_table[0][hi >> 24];
	}
	return ~crc32c_bytes(crc, p, len);
}
