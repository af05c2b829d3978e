/* SPDX-License-Identifier: MIT */
/* UTF-8 checks for text that arrives from elsewhere (probe arguments, HTTP). */
#ifndef PROBEHOOK_UTF8_H
#define PROBEHOOK_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1..4) of the well-formed sequence at s, at most avail bytes, or 0
 * when malformed: overlong forms, surrogates, beyond U+10FFFF, and NUL (JSON
 * consumers end strings there). */
size_t utf8_sequence_len(const unsigned char *s, size_t avail);

bool utf8_valid(const char *text, size_t len);

/*
 * len, less the bytes of a character that text ends in the middle of: a
 * lead byte and continuation bytes that could still become a well-formed
 * sequence.  Text cut at a byte cap loses that character, rather than
 * turning it into U+FFFD as if the text had been malformed.
 */
size_t utf8_complete_len(const char *text, size_t len);

/*
 * Copy len bytes into a fresh NUL-terminated string, replacing each byte of
 * a malformed sequence by U+FFFD.  *replaced tells whether anything was.
 */
char *utf8_sanitize(const char *text, size_t len, int *replaced);

#endif
