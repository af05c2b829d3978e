/* SPDX-License-Identifier: MIT */
/*
 * URL safety: which addresses a webhook may connect to.  A webhook URL is
 * operator input that can point anywhere, and its host name can resolve to
 * anything (DNS rebinding), so the check runs on the address actually being
 * connected to, after resolution, from libcurl's open-socket callback.
 *
 * By default only public unicast addresses pass.  allow_private_networks
 * admits loopback, RFC 1918, CGNAT, link-local and unique-local addresses;
 * cloud metadata, unspecified, multicast, broadcast and reserved addresses
 * are never admitted: nothing legitimate listens for webhooks there.
 * IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4)
 * are judged by the embedded address.
 */
#ifndef PROBEHOOK_NETGUARD_H
#define PROBEHOOK_NETGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

enum netguard_class {
	NETGUARD_PUBLIC,
	/* allowed with allow_private_networks */
	NETGUARD_LOOPBACK,
	NETGUARD_PRIVATE,       /* RFC 1918, IPv6 site-local */
	NETGUARD_SHARED,        /* 100.64.0.0/10, carrier-grade NAT */
	NETGUARD_LINK_LOCAL,
	NETGUARD_UNIQUE_LOCAL,  /* fc00::/7 */
	/* never allowed */
	NETGUARD_METADATA,      /* 169.254.169.254, fd00:ec2::254 */
	NETGUARD_UNSPECIFIED,   /* 0.0.0.0/8, :: (Linux connects those to the local host) */
	NETGUARD_MULTICAST,
	NETGUARD_BROADCAST,
	NETGUARD_RESERVED,      /* 240/4, benchmarking, IETF and discard ranges */
	NETGUARD_UNKNOWN,       /* not IPv4 or IPv6 */
};

/* "a private address", "a loopback address", ... for messages */
const char *netguard_class_name(enum netguard_class c);

enum netguard_class netguard_classify(const struct sockaddr *sa, socklen_t len);

/* May a connection to this class go, given the endpoint's opt-in? */
bool netguard_allowed(enum netguard_class c, bool allow_private_networks);

/*
 * 0 when a connection to sa may go; otherwise -EACCES with a one-line reason
 * in why, like "refused: 10.0.0.1 is a private address; set
 * allow_private_networks to allow it".
 */
int netguard_check(const struct sockaddr *sa, socklen_t len, bool allow_private_networks,
		   char *why, size_t why_size);

/* The same for an address in text form (curl's CURLINFO_PRIMARY_IP): a
 * connection about to be reused was opened for another endpoint, perhaps
 * one with the opt-in.  Text that is not an address is refused. */
int netguard_check_text(const char *addr, bool allow_private_networks, char *why,
			size_t why_size);

#endif
