// SPDX-License-Identifier: MIT
/* USDT note reading: a real binary's probes, and hostile images refused. */
#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "check.h"
#include "usdt_notes.h"

struct seen {
	int probehook, with_semaphore;
};

static int count_note(const struct usdt_note *note, void *ctx)
{
	struct seen *seen = ctx;

	if (strcmp(note->provider, "probehook") == 0) {
		seen->probehook++;
		seen->with_semaphore += note->semaphore != 0;
	}
	return 0;
}

static int stop_at_first(const struct usdt_note *note, void *ctx)
{
	(void)note;
	(void)ctx;
	return 42;
}

/* A minimal ELF64 with one SHT_NOTE section ".note.stapsdt" holding desc. */
static size_t make_image(unsigned char *img, size_t cap, const void *desc, uint32_t desc_len)
{
	static const char shstr[] = "\0.shstrtab\0.note.stapsdt";
	Elf64_Ehdr eh = { 0 };
	Elf64_Shdr sh[3] = { 0 };
	Elf64_Nhdr nh = { .n_namesz = 8, .n_descsz = desc_len, .n_type = 3 };
	size_t notes = sizeof(eh), strs, shoff, n;

	memset(img, 0, cap);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	memcpy(img + notes, &nh, sizeof(nh));
	memcpy(img + notes + sizeof(nh), "stapsdt", 8);
	memcpy(img + notes + sizeof(nh) + 8, desc, desc_len);
	strs = notes + sizeof(nh) + 8 + ((desc_len + 3) & ~3u);
	memcpy(img + strs, shstr, sizeof(shstr));
	shoff = (strs + sizeof(shstr) + 7) & ~(size_t)7;
	sh[1] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_STRTAB, .sh_offset = strs,
			      .sh_size = sizeof(shstr) };
	sh[2] = (Elf64_Shdr){ .sh_name = 11, .sh_type = SHT_NOTE, .sh_offset = notes,
			      .sh_size = sizeof(nh) + 8 + ((desc_len + 3) & ~3u) };
	memcpy(img + shoff, sh, sizeof(sh));
	eh.e_shoff = shoff;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 3;
	eh.e_shstrndx = 1;
	memcpy(img, &eh, sizeof(eh));
	n = shoff + sizeof(sh);
	return n;
}

static void test_synthetic(void)
{
	unsigned char img[1024], desc[64] = { 0 };
	struct seen seen = { 0 };
	uint64_t sem = 0x4000;
	size_t size;

	memcpy(desc + 16, &sem, 8);
	memcpy(desc + 24, "probehook\0x\0-8@%rdi", 20);
	size = make_image(img, sizeof(img), desc, 44);
	CHECK(usdt_notes_parse(img, size, count_note, &seen) == 0);
	CHECK(seen.probehook == 1 && seen.with_semaphore == 1);
	CHECK(usdt_notes_parse(img, size, stop_at_first, NULL) == 42);

	/* strings that run off the end of the descriptor */
	memset(desc + 24, 'A', 40);
	size = make_image(img, sizeof(img), desc, 44);
	CHECK(usdt_notes_parse(img, size, count_note, &seen) == -EBADMSG);
	/* a descriptor shorter than its three addresses */
	size = make_image(img, sizeof(img), desc, 8);
	CHECK(usdt_notes_parse(img, size, count_note, &seen) == -EBADMSG);
	/* truncated images, section table beyond the end, not ELF at all */
	size = make_image(img, sizeof(img), desc, 44);
	for (size_t cut = 0; cut < size; cut += 7)
		CHECK(usdt_notes_parse(img, cut, count_note, &seen) <= 0);
	{
		Elf64_Off far = 1u << 30;

		memcpy(img + offsetof(Elf64_Ehdr, e_shoff), &far, sizeof(far));
	}
	CHECK(usdt_notes_parse(img, size, count_note, &seen) == -EBADMSG);
	CHECK(usdt_notes_parse("#!/bin/sh\n", 10, count_note, &seen) == -ENOEXEC);
}

int main(int argc, char **argv)
{
	struct seen seen = { 0 };

	test_synthetic();
	/* the demo agent, built with the probes */
	if (argc > 1) {
		CHECK(usdt_notes_read(argv[1], count_note, &seen) == 0);
		CHECK(seen.probehook == 8 && seen.with_semaphore == 8);
	}
	CHECK(usdt_notes_read("/nonexistent", count_note, &seen) == -ENOENT);
	return check_summary("test_usdt_notes");
}
