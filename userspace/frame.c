// SPDX-License-Identifier: MIT
/*
 * Framed record files: header, frame checks, the recovery scan that sets
 * bad stretches aside, and the all-or-nothing write.  The format is
 * described in frame.h.
 */
#include "frame.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "log.h"

#define HEADER_CRC_OFF 36
#define FRAME_IOV_MAX 8

void frame_header_encode(uint8_t out[FRAME_HEADER_LEN], const struct frame_format *fmt,
			 uint64_t file_id, uint64_t first_seq)
{
	memset(out, 0, FRAME_HEADER_LEN);
	memcpy(out, fmt->magic, FRAME_MAGIC_LEN);
	put_le32(out + 8, FRAME_VERSION);
	put_le64(out + 16, file_id);
	put_le64(out + 24, first_seq);
	put_le32(out + HEADER_CRC_OFF, crc32c(0, out, HEADER_CRC_OFF));
}

/* 0, -EBADMSG (not a file of this kind, or damaged) or -EPROTONOSUPPORT. */
static int header_decode(const uint8_t *buf, size_t size, const struct frame_format *fmt,
			 struct frame_file *out)
{
	uint32_t version;

	if (size < FRAME_HEADER_LEN || memcmp(buf, fmt->magic, FRAME_MAGIC_LEN) != 0 ||
	    crc32c(0, buf, HEADER_CRC_OFF) != get_le32(buf + HEADER_CRC_OFF))
		return -EBADMSG;
	version = get_le32(buf + 8);
	if (version > FRAME_VERSION)
		return -EPROTONOSUPPORT;
	if (version == 0)
		return -EBADMSG;
	out->file_id = get_le64(buf + 16);
	out->first_seq = get_le64(buf + 24);
	return 0;
}

size_t frame_check(const uint8_t *buf, size_t avail, const struct frame_format *fmt,
		   uint8_t *type, const uint8_t **payload, size_t *len)
{
	uint32_t n;

	if (avail < FRAME_HEAD_LEN)
		return 0;
	n = get_le32(buf);
	if (n < 1 || n > fmt->max_len || n > avail - 8)
		return 0;
	if (!fmt->well_formed(buf[8], buf + FRAME_HEAD_LEN, n - 1))
		return 0;
	if (crc32c(0, buf + 8, n) != get_le32(buf + 4))
		return 0;
	*type = buf[8];
	*payload = buf + FRAME_HEAD_LEN;
	*len = n - 1;
	return (size_t)n + 8;
}

void frame_head(uint8_t *head, uint8_t type, size_t len, uint32_t crc)
{
	put_le32(head, (uint32_t)(len + 1));
	put_le32(head + 4, crc);
	head[8] = type;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int torn_name(char *buf, size_t size, const char *name, uint64_t off)
{
	int n = snprintf(buf, size, "torn-%s-%llu.bin", name, (unsigned long long)off);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/*
 * Copy a bad stretch beside the file.  An existing copy is the same stretch
 * found again: a corrupt middle cannot be cut out of a file, so every scan
 * meets it.
 */
static int copy_aside(int dirfd, const char *torn, const uint8_t *data, size_t len)
{
	int fd, ret;

	fd = openat(dirfd, torn, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	ret = write_all(fd, data, len);
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	if (ret)
		unlinkat(dirfd, torn, 0);
	return ret;
}

/* The first offset after from where a valid frame starts, or size. */
static size_t resync(const uint8_t *map, size_t size, size_t from, const struct frame_format *fmt)
{
	const uint8_t *payload;
	uint8_t type;
	size_t len;

	for (; from + FRAME_HEAD_LEN <= size; from++)
		if (frame_check(map + from, size - from, fmt, &type, &payload, &len))
			return from;
	return size;
}

/* Set aside map[off, end); cut the file there when nothing valid follows. */
static void set_aside_region(int dirfd, int fd, const char *dir, const char *name,
			     const uint8_t *map, size_t off, size_t end, bool at_end,
			     struct frame_file *out)
{
	char torn[NAME_MAX + 1];
	int ret;

	out->torn_regions++;
	out->torn_bytes += end - off;
	ret = torn_name(torn, sizeof(torn), name, off);
	if (!ret)
		ret = copy_aside(dirfd, torn, map + off, end - off);
	if (ret) {
		/* Keep the bytes where they are: skipping them is enough to go on. */
		log_warn("%s/%s: %zu bad bytes at offset %zu could not be set aside (%s); "
			 "skipped", dir, name, end - off, off, strerror(-ret));
		return;
	}
	if (at_end && (ftruncate(fd, (off_t)off) || fsync(fd))) {
		log_warn("%s/%s: cutting the torn tail at offset %zu failed: %s", dir, name, off,
			 strerror(errno));
		return;
	}
	if (at_end)
		out->size = off;
	log_warn("%s/%s: %zu bad bytes at offset %zu set aside as %s; %s", dir, name, end - off,
		 off, torn, at_end ? "file cut there" : "the valid records after them are kept");
}

/* A file without a valid header: nothing in it can be trusted to be ours. */
static int set_aside_file(int dirfd, const char *dir, const char *name, size_t size,
			  struct frame_file *out)
{
	char torn[NAME_MAX + 1];
	int ret;

	out->set_aside = true;
	if (size == 0) {
		/* created, then a crash before the header reached the disk */
		log_info("%s/%s: empty, removed", dir, name);
		return unlinkat(dirfd, name, 0) ? -errno : 0;
	}
	out->torn_regions++;
	out->torn_bytes += size;
	ret = torn_name(torn, sizeof(torn), name, 0);
	if (ret)
		return ret;
	if (renameat(dirfd, name, dirfd, torn))
		return -errno;
	log_warn("%s/%s: no valid header; the whole file (%zu bytes) set aside as %s", dir, name,
		 size, torn);
	return 0;
}

int frame_scan(int dirfd, const char *dir, const char *name, const struct frame_format *fmt,
	       frame_fn fn, void *ctx, struct frame_file *out)
{
	const uint8_t *payload, *map = NULL;
	size_t size = 0, off, n, len, next;
	struct stat st;
	uint8_t type;
	int fd, ret;

	memset(out, 0, sizeof(*out));
	fd = openat(dirfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > SIZE_MAX) {
		ret = -EINVAL;
		goto out;
	}
	size = (size_t)st.st_size;
	out->size = size;
	if (size) {
		map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			map = NULL;
			ret = -errno;
			goto out;
		}
	}
	ret = header_decode(map, size, fmt, out);
	if (ret == -EPROTONOSUPPORT)
		log_error("%s/%s: written by a newer probehook (format version %u); not "
			  "touching it", dir, name, get_le32(map + 8));
	if (ret == -EBADMSG)
		ret = set_aside_file(dirfd, dir, name, size, out);
	if (ret || out->set_aside)
		goto out;
	for (off = FRAME_HEADER_LEN; off < size; off += n) {
		n = frame_check(map + off, size - off, fmt, &type, &payload, &len);
		if (n) {
			ret = fn(ctx, type, payload, len, off);
			if (ret)
				goto out;
			out->frames++;
			continue;
		}
		next = resync(map, size, off + 1, fmt);
		set_aside_region(dirfd, fd, dir, name, map, off, next, next == size, out);
		n = next - off;
	}
out:
	if (map)
		munmap((void *)map, size);
	close(fd);
	return ret;
}

int frame_cut(int fd, uint64_t off, bool *cut_pending)
{
	if (ftruncate(fd, (off_t)off)) {
		*cut_pending = true;
		return -errno;
	}
	*cut_pending = false;
	return 0;
}

int frame_pwritev(int fd, uint64_t off, const struct iovec *iov, int iovcnt, bool *cut_pending)
{
	struct iovec v[FRAME_IOV_MAX];
	uint64_t pos = off;
	int i = 0, ret = 0;
	ssize_t n;

	if (iovcnt > FRAME_IOV_MAX)
		return -EINVAL;
	if (*cut_pending && (ret = frame_cut(fd, off, cut_pending)))
		return ret;
	memcpy(v, iov, sizeof(*iov) * (size_t)iovcnt);
	while (i < iovcnt) {
		n = pwritev(fd, v + i, iovcnt - i, (off_t)pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0) {
			ret = -EIO;
			break;
		}
		pos += (uint64_t)n;
		/* a short write: skip what went out, go on with the rest */
		while (i < iovcnt && (size_t)n >= v[i].iov_len)
			n -= (ssize_t)v[i++].iov_len;
		if (i < iovcnt) {
			v[i].iov_base = (char *)v[i].iov_base + n;
			v[i].iov_len -= (size_t)n;
		}
	}
	if (ret && pos != off)
		frame_cut(fd, off, cut_pending);
	return ret;
}
