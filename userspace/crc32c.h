/* SPDX-License-Identifier: MIT */
/*
 * CRC-32C (Castagnoli, the iSCSI/ext4 CRC): detects torn and corrupted
 * records in the spool and the dead-letter store.  Chainable:
 * crc32c(crc32c(0, a, n), b, m) equals the CRC of a followed by b.
 */
#ifndef PROBEHOOK_CRC32C_H
#define PROBEHOOK_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Start with crc = 0.  The CRC of "123456789" is 0xe3069283. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
