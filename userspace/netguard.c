// SPDX-License-Identifier: MIT
#include "netguard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* An IPv4 prefix: addr/bits, host byte order. */
struct v4_range {
	uint32_t addr;
	unsigned int bits;
	enum netguard_class class;
};

#define V4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

/* Most specific first: the first match wins. */
static const struct v4_range v4_ranges[] = {
	{ V4(169, 254, 169, 254), 32, NETGUARD_METADATA },
	{ V4(255, 255, 255, 255), 32, NETGUARD_BROADCAST },
	{ V4(0, 0, 0, 0), 8, NETGUARD_UNSPECIFIED },
	{ V4(10, 0, 0, 0), 8, NETGUARD_PRIVATE },
	{ V4(100, 64, 0, 0), 10, NETGUARD_SHARED },
	{ V4(127, 0, 0, 0), 8, NETGUARD_LOOPBACK },
	{ V4(169, 254, 0, 0), 16, NETGUARD_LINK_LOCAL },
	{ V4(172, 16, 0, 0), 12, NETGUARD_PRIVATE },
	{ V4(192, 0, 0, 0), 24, NETGUARD_RESERVED },   /* IETF protocol assignments */
	{ V4(192, 168, 0, 0), 16, NETGUARD_PRIVATE },
	{ V4(198, 18, 0, 0), 15, NETGUARD_RESERVED },  /* benchmarking */
	{ V4(224, 0, 0, 0), 4, NETGUARD_MULTICAST },
	{ V4(240, 0, 0, 0), 4, NETGUARD_RESERVED },
};

static enum netguard_class classify_v4(uint32_t addr)
{
	for (size_t i = 0; i < sizeof(v4_ranges) / sizeof(v4_ranges[0]); i++) {
		uint32_t mask = v4_ranges[i].bits ? ~0u << (32 - v4_ranges[i].bits) : 0;

		if ((addr & mask) == v4_ranges[i].addr)
			return v4_ranges[i].class;
	}
	return NETGUARD_PUBLIC;
}

static uint32_t v4_at(const uint8_t *b)
{
	return V4(b[0], b[1], b[2], b[3]);
}

static bool all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static enum netguard_class classify_v6(const uint8_t *b)
{
	static const uint8_t metadata[16] = { 0xfd, 0x00, 0x0e, 0xc2, [15] = 0x54, [14] = 0x02 };
	static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b };

	if (memcmp(b, metadata, 16) == 0)
		return NETGUARD_METADATA;
	if (all_zero(b, 15))
		return b[15] == 0 ? NETGUARD_UNSPECIFIED :
		       b[15] == 1 ? NETGUARD_LOOPBACK : classify_v4(v4_at(b + 12));
	/* ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible) reach the IPv4 host */
	if (all_zero(b, 10) && b[10] == 0xff && b[11] == 0xff)
		return classify_v4(v4_at(b + 12));
	if (all_zero(b, 12))
		return classify_v4(v4_at(b + 12));
	/* 64:ff9b::/96 (NAT64) and 2002::/16 (6to4) route to the embedded IPv4 */
	if (memcmp(b, nat64, sizeof(nat64)) == 0)
		return classify_v4(v4_at(b + 12));
	if (b[0] == 0x20 && b[1] == 0x02)
		return classify_v4(v4_at(b + 2));
	if (b[0] == 0xff)
		return NETGUARD_MULTICAST;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return NETGUARD_LINK_LOCAL;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return NETGUARD_PRIVATE;      /* fec0::/10, deprecated site-local */
	if ((b[0] & 0xfe) == 0xfc)
		return NETGUARD_UNIQUE_LOCAL;
	if (b[0] == 0x01 && all_zero(b + 1, 7))
		return NETGUARD_RESERVED;     /* 100::/64, discard-only */
	return NETGUARD_PUBLIC;
}

enum netguard_class netguard_classify(const struct sockaddr *sa, socklen_t len)
{
	if (!sa)
		return NETGUARD_UNKNOWN;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		return classify_v4(ntohl(in->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		return classify_v6(in6->sin6_addr.s6_addr);
	}
	return NETGUARD_UNKNOWN;
}

const char *netguard_class_name(enum netguard_class c)
{
	switch (c) {
	case NETGUARD_PUBLIC: return "a public address";
	case NETGUARD_LOOPBACK: return "a loopback address";
	case NETGUARD_PRIVATE: return "a private address";
	case NETGUARD_SHARED: return "a carrier-grade NAT (shared) address";
	case NETGUARD_LINK_LOCAL: return "a link-local address";
	case NETGUARD_UNIQUE_LOCAL: return "a unique-local address";
	case NETGUARD_METADATA: return "a cloud metadata address";
	case NETGUARD_UNSPECIFIED: return "an unspecified address";
	case NETGUARD_MULTICAST: return "a multicast address";
	case NETGUARD_BROADCAST: return "a broadcast address";
	case NETGUARD_RESERVED: return "a reserved address";
	case NETGUARD_UNKNOWN: break;
	}
	return "not an IP address";
}

bool netguard_allowed(enum netguard_class c, bool allow_private_networks)
{
	if (c == NETGUARD_PUBLIC)
		return true;
	return allow_private_networks && c >= NETGUARD_LOOPBACK && c <= NETGUARD_UNIQUE_LOCAL;
}

static void format_addr(const struct sockaddr *sa, char *out, size_t size)
{
	const void *addr = NULL;

	if (sa && sa->sa_family == AF_INET)
		addr = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa && sa->sa_family == AF_INET6)
		addr = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (!addr || !inet_ntop(sa->sa_family, addr, out, (socklen_t)size))
		snprintf(out, size, "the address");
}

int netguard_check(const struct sockaddr *sa, socklen_t len, bool allow_private_networks,
		   char *why, size_t why_size)
{
	enum netguard_class c = netguard_classify(sa, len);
	char text[INET6_ADDRSTRLEN];

	if (netguard_allowed(c, allow_private_networks))
		return 0;
	format_addr(sa, text, sizeof(text));
	if (c >= NETGUARD_LOOPBACK && c <= NETGUARD_UNIQUE_LOCAL)
		snprintf(why, why_size,
			 "refused: %s is %s; set allow_private_networks to allow it", text,
			 netguard_class_name(c));
	else
		snprintf(why, why_size, "refused: %s is %s; never allowed", text,
			 netguard_class_name(c));
	return -EACCES;
}

int netguard_check_text(const char *addr, bool allow_private_networks, char *why, size_t why_size)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = 0;

	if (addr && inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		len = sizeof(*in);
	} else if (addr && inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		len = sizeof(*in6);
	}
	return netguard_check((struct sockaddr *)&ss, len, allow_private_networks, why, why_size);
}
