// SPDX-License-Identifier: MIT
#include "utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t utf8_sequence_len(const unsigned char *s, size_t avail)
{
	uint32_t cp, min;
	size_t need, i;

	if (s[0] < 0x80)
		return s[0] ? 1 : 0;
	if ((s[0] & 0xe0) == 0xc0) {
		need = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		need = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		need = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (avail < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

bool utf8_valid(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, n;

	while (i < len) {
		/* ASCII runs are the common case: skip the general decoder for them */
		if (s[i] && s[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_sequence_len(s + i, len - i);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

/* Whether the need - have bytes missing from a sequence could complete it:
 * the first of them is the one with a restricted range (E0, ED, F0, F4). */
static bool utf8_valid_prefix(const unsigned char *s, size_t have, size_t need)
{
	static const unsigned char pads[] = { 0x80, 0x90, 0xa0 };
	unsigned char buf[4];

	for (size_t p = 0; p < sizeof(pads); p++) {
		memcpy(buf, s, have);
		memset(buf + have, pads[p], need - have);
		if (utf8_sequence_len(buf, need) == need)
			return true;
	}
	return false;
}

size_t utf8_complete_len(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t back, need;

	for (back = 1; back <= 3 && back <= len; back++) {
		unsigned char c = s[len - back];

		if ((c & 0xc0) == 0x80)
			continue; /* a continuation byte: the lead is further back */
		if ((c & 0xe0) == 0xc0)
			need = 2;
		else if ((c & 0xf0) == 0xe0)
			need = 3;
		else if ((c & 0xf8) == 0xf0)
			need = 4;
		else
			return len;
		if (need > back && utf8_valid_prefix(s + len - back, back, need))
			return len - back;
		return len;
	}
	return len;
}

char *utf8_sanitize(const char *text, size_t len, int *replaced)
{
	static const char replacement[] = "\xef\xbf\xbd";
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, o = 0;
	char *out;

	*replaced = 0;
	/* worst case: every byte becomes a 3-byte replacement */
	out = malloc(len * 3 + 1);
	if (!out)
		return NULL;
	while (i < len) {
		size_t n;

		/* ASCII runs are the common case: copy them without the decoder */
		if (s[i] && s[i] < 0x80) {
			out[o++] = (char)s[i++];
			continue;
		}
		n = utf8_sequence_len(s + i, len - i);
		if (n) {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, replacement, 3);
			o += 3;
			i++;
			*replaced = 1;
		}
	}
	out[o] = '\0';
	return out;
}
