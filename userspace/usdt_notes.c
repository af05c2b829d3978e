// SPDX-License-Identifier: MIT
#include "usdt_notes.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NT_STAPSDT 3
#define STAPSDT_OWNER "stapsdt"

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* A NUL-terminated string inside [p, end), or NULL. */
static const char *bounded_string(const char *p, const char *end)
{
	return p < end && memchr(p, '\0', (size_t)(end - p)) ? p : NULL;
}

static int parse_note_desc(const char *desc, size_t len, usdt_note_fn fn, void *ctx)
{
	const char *end = desc + len, *p = desc + 3 * sizeof(uint64_t);
	struct usdt_note note;

	if (len < 3 * sizeof(uint64_t))
		return -EBADMSG;
	memcpy(&note.pc, desc, sizeof(uint64_t));
	memcpy(&note.semaphore, desc + 16, sizeof(uint64_t));
	note.provider = bounded_string(p, end);
	note.name = note.provider ? bounded_string(p += strlen(p) + 1, end) : NULL;
	note.args = note.name ? bounded_string(p += strlen(p) + 1, end) : NULL;
	if (!note.args)
		return -EBADMSG;
	return fn(&note, ctx);
}

static int parse_notes(const char *data, size_t size, usdt_note_fn fn, void *ctx)
{
	size_t off = 0;

	while (size - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		size_t name_off, desc_off;
		int err;

		memcpy(&nh, data + off, sizeof(nh));
		name_off = off + sizeof(nh);
		if (nh.n_namesz > size - name_off)
			return -EBADMSG;
		desc_off = name_off + align4(nh.n_namesz);
		if (desc_off > size || nh.n_descsz > size - desc_off)
			return -EBADMSG;
		if (nh.n_type == NT_STAPSDT && nh.n_namesz == sizeof(STAPSDT_OWNER) &&
		    memcmp(data + name_off, STAPSDT_OWNER, sizeof(STAPSDT_OWNER)) == 0) {
			err = parse_note_desc(data + desc_off, nh.n_descsz, fn, ctx);
			if (err)
				return err;
		}
		off = desc_off + align4(nh.n_descsz);
		if (off > size)
			break;
	}
	return 0;
}

int usdt_notes_parse(const void *image, size_t size, usdt_note_fn fn, void *ctx)
{
	const char *base = image;
	Elf64_Shdr shstr;
	Elf64_Ehdr eh;

	if (size < sizeof(eh) || memcmp(base, ELFMAG, SELFMAG) != 0)
		return -ENOEXEC;
	memcpy(&eh, base, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr))
		return -ENOEXEC;
	if (eh.e_shoff > size || eh.e_shnum > (size - eh.e_shoff) / sizeof(Elf64_Shdr) ||
	    eh.e_shstrndx >= eh.e_shnum)
		return -EBADMSG;
	/* copied out: a hostile file may leave the headers unaligned */
	memcpy(&shstr, base + eh.e_shoff + eh.e_shstrndx * sizeof(shstr), sizeof(shstr));
	if (shstr.sh_offset > size || shstr.sh_size > size - shstr.sh_offset)
		return -EBADMSG;
	for (unsigned int i = 0; i < eh.e_shnum; i++) {
		Elf64_Shdr sh;
		const char *name;

		memcpy(&sh, base + eh.e_shoff + i * sizeof(sh), sizeof(sh));
		if (sh.sh_type != SHT_NOTE || sh.sh_name >= shstr.sh_size)
			continue;
		name = bounded_string(base + shstr.sh_offset + sh.sh_name,
				      base + shstr.sh_offset + shstr.sh_size);
		if (!name || strcmp(name, ".note.stapsdt") != 0)
			continue;
		if (sh.sh_offset > size || sh.sh_size > size - sh.sh_offset)
			return -EBADMSG;
		return parse_notes(base + sh.sh_offset, sh.sh_size, fn, ctx);
	}
	return 0; /* no USDT notes: a valid answer */
}

int usdt_notes_read(const char *path, usdt_note_fn fn, void *ctx)
{
	struct stat st;
	void *image;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return -ENOEXEC;
	}
	image = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	err = image == MAP_FAILED ? -errno : 0;
	close(fd);
	if (err)
		return err;
	err = usdt_notes_parse(image, (size_t)st.st_size, fn, ctx);
	munmap(image, (size_t)st.st_size);
	return err;
}
