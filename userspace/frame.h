/* SPDX-License-Identifier: MIT */
/*
 * Framed record files: the on-disk container the spool and the dead-letter
 * store share.  All integers are little-endian.
 *
 *   file header, FRAME_HEADER_LEN (40) bytes
 *      0  magic[8]        the kind of file: "PHSPOOL\0", "PHDEADL\0"
 *      8  u32 version     FRAME_VERSION; a newer one is refused, never guessed at
 *     12  u32 reserved    0
 *     16  u64 file_id     the spool's segment number; 0 for other files
 *     24  u64 first_seq   no record in this file has a smaller sequence number
 *     32  u32 reserved    0
 *     36  u32 crc         CRC-32C of bytes 0..35
 *   then frames, back to back, to the end of the file:
 *      0  u32 len         bytes of type + payload, 1..max
 *      4  u32 crc         CRC-32C of type + payload
 *      8  u8  type        a record type of the file's kind, never 0
 *      9  payload[len - 1]
 *
 * A frame is written with one pwritev() and cut back off the file when the
 * write fails part-way, so a file only ever ends in a torn frame after a
 * crash or power loss.  Recovery (frame_scan) checks each frame's structure
 * and CRC; a bad stretch is copied to "torn-<file>-<offset>.bin" beside the
 * file.  When valid frames follow it (a corrupted middle) they are kept and
 * the stretch is skipped; otherwise the file is cut at the stretch.
 */
#ifndef PROBEHOOK_FRAME_H
#define PROBEHOOK_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define FRAME_MAGIC_LEN 8
#define FRAME_VERSION 1
#define FRAME_HEADER_LEN 40
#define FRAME_HEAD_LEN 9 /* len, crc, type */

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return get_le16(p) | (uint32_t)get_le16(p + 2) << 16;
}

static inline uint64_t get_le64(const uint8_t *p)
{
	return get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* What makes a file of one kind: its magic and its record types. */
struct frame_format {
	char magic[FRAME_MAGIC_LEN];
	uint32_t max_len; /* largest type + payload */
	/*
	 * Is this a known type whose payload is well-formed and fills len
	 * exactly?  Checked before the CRC, so that hunting for the next frame
	 * through garbage rejects almost every offset without checksumming.
	 */
	bool (*well_formed)(uint8_t type, const uint8_t *payload, size_t len);
};

/* What one scan found. */
struct frame_file {
	uint64_t file_id, first_seq; /* from the header */
	uint64_t size;               /* the file's size after the scan */
	uint64_t frames;             /* valid frames */
	uint64_t torn_regions;       /* bad stretches set aside (or skipped) */
	uint64_t torn_bytes;
	bool set_aside;              /* the header was bad: the whole file moved */
};

/* Called for each valid frame, in file order; a nonzero return stops the scan. */
typedef int (*frame_fn)(void *ctx, uint8_t type, const uint8_t *payload, size_t len,
			uint64_t off);

void frame_header_encode(uint8_t out[FRAME_HEADER_LEN], const struct frame_format *fmt,
			 uint64_t file_id, uint64_t first_seq);

/*
 * Scan dirfd/name; dir is dirfd's path, for the log.  A file whose header
 * is short or corrupt is renamed to "torn-<name>-0.bin" (out->set_aside);
 * one of a newer version is refused with -EPROTONOSUPPORT and left alone.  Returns 0, fn's nonzero value, or a
 * negative errno.  Logs what it sets aside.
 */
int frame_scan(int dirfd, const char *dir, const char *name, const struct frame_format *fmt,
	       frame_fn fn, void *ctx, struct frame_file *out);

/*
 * Size of the valid frame at buf (avail bytes there), or 0 when none starts
 * there.  On success *type, *payload and *len describe it.
 */
size_t frame_check(const uint8_t *buf, size_t avail, const struct frame_format *fmt,
		   uint8_t *type, const uint8_t **payload, size_t *len);

/* Fill head[FRAME_HEAD_LEN] for type + payload whose CRC-32C (type byte
 * included) is crc. */
void frame_head(uint8_t *head, uint8_t type, size_t len, uint32_t crc);

/*
 * A run of failed writes (a full disk) is one episode, logged when it starts
 * and when it ends rather than once per write.  A full disk still takes a
 * small write now and then (into the last page of a file), so a success
 * alone does not end it: a success does once no write has failed for
 * EPISODE_SETTLE_MS, or the log would say "works again" and "failed" in
 * turn every few ms.  Every failure is counted all the same.  now is
 * monotonic ms (now_ms()).
 */
#define EPISODE_SETTLE_MS 5000

struct write_episode {
	bool failing;             /* the last write failed */
	bool open;                /* its start was logged, its end not yet */
	uint64_t errors;          /* writes that failed since it started */
	uint64_t successes;       /* and that succeeded in between */
	uint64_t last_failure_ms;
};

/* A write failed: true when this starts an episode (log it). */
static inline bool episode_fail(struct write_episode *ep, uint64_t now)
{
	ep->failing = true;
	ep->errors++;
	ep->last_failure_ms = now;
	if (ep->open)
		return false;
	ep->open = true;
	return true;
}

/* A write succeeded: true when this ends the episode (log it); *ended is
 * then what the episode counted. */
static inline bool episode_ok(struct write_episode *ep, uint64_t now, struct write_episode *ended)
{
	ep->failing = false;
	if (!ep->open)
		return false;
	if (now - ep->last_failure_ms < EPISODE_SETTLE_MS) {
		ep->successes++;
		return false;
	}
	*ended = *ep;
	*ep = (struct write_episode){ 0 };
	return true;
}

/*
 * Write the iovecs at off, all or nothing: when the write fails part-way
 * (a full disk, a file size limit) the file is cut back to off, so the next
 * frame never follows a torn one.  When even that cut fails, *cut_pending is
 * set: the caller must frame_cut() before writing there again.  Returns 0 or
 * a negative errno.
 */
int frame_pwritev(int fd, uint64_t off, const struct iovec *iov, int iovcnt, bool *cut_pending);
int frame_cut(int fd, uint64_t off, bool *cut_pending);

#endif
