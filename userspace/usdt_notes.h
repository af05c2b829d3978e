/* SPDX-License-Identifier: MIT */
/* Reading the USDT probes an ELF file carries (its .note.stapsdt notes). */
#ifndef PROBEHOOK_USDT_NOTES_H
#define PROBEHOOK_USDT_NOTES_H

#include <stddef.h>
#include <stdint.h>

struct usdt_note {
	const char *provider;
	const char *name;
	const char *args;       /* "8@%rdi -8@%rsi ..." */
	uint64_t pc;            /* probe site address */
	uint64_t semaphore;     /* address of the semaphore, 0 when it has none */
};

/* Called once per note; a non-zero return stops the walk and is returned. */
typedef int (*usdt_note_fn)(const struct usdt_note *note, void *ctx);

/*
 * Walk the notes of an ELF64 image in memory.  Every offset is checked
 * against size, so a hostile file yields -EBADMSG, never a crash.
 * Returns 0, the callback's value, -ENOEXEC (not ELF64) or -EBADMSG.
 */
int usdt_notes_parse(const void *image, size_t size, usdt_note_fn fn, void *ctx);
/* The same for a file. */
int usdt_notes_read(const char *path, usdt_note_fn fn, void *ctx);

#endif
