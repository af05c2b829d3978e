// SPDX-License-Identifier: MIT
/* The address classifier behind the SSRF guard: many addresses of every
 * class, in IPv4 and IPv6 and the IPv6 forms that embed IPv4, and the
 * refusal messages. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "check.h"
#include "netguard.h"

struct addr_case {
	const char *addr;
	enum netguard_class class;
};

static const struct addr_case cases[] = {
	/* public */
	{ "8.8.8.8", NETGUARD_PUBLIC },
	{ "1.1.1.1", NETGUARD_PUBLIC },
	{ "93.184.216.34", NETGUARD_PUBLIC },
	{ "9.255.255.255", NETGUARD_PUBLIC },
	{ "11.0.0.0", NETGUARD_PUBLIC },
	{ "100.63.255.255", NETGUARD_PUBLIC },
	{ "100.128.0.0", NETGUARD_PUBLIC },
	{ "126.255.255.255", NETGUARD_PUBLIC },
	{ "128.0.0.0", NETGUARD_PUBLIC },
	{ "169.253.255.255", NETGUARD_PUBLIC },
	{ "169.255.0.0", NETGUARD_PUBLIC },
	{ "172.15.255.255", NETGUARD_PUBLIC },
	{ "172.32.0.0", NETGUARD_PUBLIC },
	{ "192.167.255.255", NETGUARD_PUBLIC },
	{ "192.169.0.0", NETGUARD_PUBLIC },
	{ "198.17.255.255", NETGUARD_PUBLIC },
	{ "198.20.0.0", NETGUARD_PUBLIC },
	{ "223.255.255.255", NETGUARD_PUBLIC },
	{ "2606:4700:4700::1111", NETGUARD_PUBLIC },
	{ "2001:4860:4860::8888", NETGUARD_PUBLIC },
	{ "2a00:1450::1", NETGUARD_PUBLIC },
	{ "::ffff:8.8.8.8", NETGUARD_PUBLIC },
	{ "64:ff9b::808:808", NETGUARD_PUBLIC },
	{ "2002:808:808::1", NETGUARD_PUBLIC },
	{ "fbff:ffff::1", NETGUARD_PUBLIC },
	{ "fe00::1", NETGUARD_PUBLIC },
	/* loopback */
	{ "127.0.0.1", NETGUARD_LOOPBACK },
	{ "127.1.2.3", NETGUARD_LOOPBACK },
	{ "127.255.255.255", NETGUARD_LOOPBACK },
	{ "::1", NETGUARD_LOOPBACK },
	{ "::ffff:127.0.0.1", NETGUARD_LOOPBACK },
	{ "::127.0.0.1", NETGUARD_LOOPBACK },
	{ "64:ff9b::7f00:1", NETGUARD_LOOPBACK },
	{ "2002:7f00:1::", NETGUARD_LOOPBACK },
	/* private */
	{ "10.0.0.1", NETGUARD_PRIVATE },
	{ "10.255.255.255", NETGUARD_PRIVATE },
	{ "172.16.0.1", NETGUARD_PRIVATE },
	{ "172.31.255.255", NETGUARD_PRIVATE },
	{ "192.168.0.1", NETGUARD_PRIVATE },
	{ "192.168.255.255", NETGUARD_PRIVATE },
	{ "::ffff:10.0.0.1", NETGUARD_PRIVATE },
	{ "::ffff:192.168.1.1", NETGUARD_PRIVATE },
	{ "fec0::1", NETGUARD_PRIVATE },
	/* CGNAT */
	{ "100.64.0.0", NETGUARD_SHARED },
	{ "100.100.100.200", NETGUARD_SHARED },
	{ "100.127.255.255", NETGUARD_SHARED },
	/* link-local */
	{ "169.254.0.1", NETGUARD_LINK_LOCAL },
	{ "169.254.169.253", NETGUARD_LINK_LOCAL },
	{ "169.254.255.255", NETGUARD_LINK_LOCAL },
	{ "fe80::1", NETGUARD_LINK_LOCAL },
	{ "febf:ffff::1", NETGUARD_LINK_LOCAL },
	{ "::ffff:169.254.1.1", NETGUARD_LINK_LOCAL },
	/* unique-local */
	{ "fc00::1", NETGUARD_UNIQUE_LOCAL },
	{ "fd12:3456:789a::1", NETGUARD_UNIQUE_LOCAL },
	{ "fdff:ffff::1", NETGUARD_UNIQUE_LOCAL },
	/* cloud metadata */
	{ "169.254.169.254", NETGUARD_METADATA },
	{ "::ffff:169.254.169.254", NETGUARD_METADATA },
	{ "::169.254.169.254", NETGUARD_METADATA },
	{ "64:ff9b::a9fe:a9fe", NETGUARD_METADATA },
	{ "2002:a9fe:a9fe::", NETGUARD_METADATA },
	{ "fd00:ec2::254", NETGUARD_METADATA },
	/* unspecified: Linux connects these to the local host */
	{ "0.0.0.0", NETGUARD_UNSPECIFIED },
	{ "0.1.2.3", NETGUARD_UNSPECIFIED },
	{ "::", NETGUARD_UNSPECIFIED },
	{ "::ffff:0.0.0.0", NETGUARD_UNSPECIFIED },
	/* multicast, broadcast, reserved */
	{ "224.0.0.1", NETGUARD_MULTICAST },
	{ "239.255.255.250", NETGUARD_MULTICAST },
	{ "ff02::1", NETGUARD_MULTICAST },
	{ "ff05::1:3", NETGUARD_MULTICAST },
	{ "::ffff:224.0.0.251", NETGUARD_MULTICAST },
	{ "255.255.255.255", NETGUARD_BROADCAST },
	{ "240.0.0.1", NETGUARD_RESERVED },
	{ "255.255.255.254", NETGUARD_RESERVED },
	{ "192.0.0.192", NETGUARD_RESERVED },
	{ "198.18.0.1", NETGUARD_RESERVED },
	{ "198.19.255.255", NETGUARD_RESERVED },
	{ "100::1", NETGUARD_RESERVED },
};

/* Parse text into a sockaddr of the right family. */
static socklen_t make_addr(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(443);
		return sizeof(*in);
	}
	if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(443);
		return sizeof(*in6);
	}
	return 0;
}

static void test_classes(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage ss;
		socklen_t len = make_addr(cases[i].addr, &ss);
		enum netguard_class c;

		CHECK(len > 0);
		c = netguard_classify((struct sockaddr *)&ss, len);
		if (c != cases[i].class)
			fprintf(stderr, "%s: class %d (%s), want %d\n", cases[i].addr, c,
				netguard_class_name(c), cases[i].class);
		CHECK(c == cases[i].class);
	}
}

static void test_policy(void)
{
	/* by default only public passes */
	CHECK(netguard_allowed(NETGUARD_PUBLIC, false));
	for (int c = NETGUARD_LOOPBACK; c <= NETGUARD_UNKNOWN; c++)
		CHECK(!netguard_allowed((enum netguard_class)c, false));
	/* the opt-in admits local networks, never metadata and the like */
	CHECK(netguard_allowed(NETGUARD_LOOPBACK, true));
	CHECK(netguard_allowed(NETGUARD_PRIVATE, true));
	CHECK(netguard_allowed(NETGUARD_SHARED, true));
	CHECK(netguard_allowed(NETGUARD_LINK_LOCAL, true));
	CHECK(netguard_allowed(NETGUARD_UNIQUE_LOCAL, true));
	CHECK(!netguard_allowed(NETGUARD_METADATA, true));
	CHECK(!netguard_allowed(NETGUARD_UNSPECIFIED, true));
	CHECK(!netguard_allowed(NETGUARD_MULTICAST, true));
	CHECK(!netguard_allowed(NETGUARD_BROADCAST, true));
	CHECK(!netguard_allowed(NETGUARD_RESERVED, true));
	CHECK(!netguard_allowed(NETGUARD_UNKNOWN, true));
}

static void expect_check(const char *addr, bool allow, int ret, const char *why_want)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(addr, &ss);
	char why[160] = "";
	int got = netguard_check((struct sockaddr *)&ss, len, allow, why, sizeof(why));

	CHECK(got == ret);
	if (why_want)
		CHECK_STR_EQ(why, why_want);
}

static void test_messages(void)
{
	struct sockaddr_storage ss = { .ss_family = AF_UNIX };
	char why[160];

	expect_check("10.0.0.1", false, -EACCES,
		     "refused: 10.0.0.1 is a private address; set allow_private_networks to allow it");
	expect_check("127.0.0.1", false, -EACCES,
		     "refused: 127.0.0.1 is a loopback address; set allow_private_networks to "
		     "allow it");
	expect_check("169.254.169.254", true, -EACCES,
		     "refused: 169.254.169.254 is a cloud metadata address; never allowed");
	expect_check("::ffff:10.1.2.3", false, -EACCES,
		     "refused: ::ffff:10.1.2.3 is a private address; set allow_private_networks "
		     "to allow it");
	expect_check("127.0.0.1", true, 0, NULL);
	expect_check("8.8.8.8", false, 0, NULL);
	/* short or foreign sockaddrs are never allowed */
	CHECK(netguard_check((struct sockaddr *)&ss, sizeof(ss), true, why, sizeof(why)) ==
	      -EACCES);
	CHECK(netguard_classify((struct sockaddr *)&ss, 4) == NETGUARD_UNKNOWN);
	CHECK(netguard_classify(NULL, 0) == NETGUARD_UNKNOWN);
}

static void test_text(void)
{
	char why[160];

	CHECK(netguard_check_text("8.8.8.8", false, why, sizeof(why)) == 0);
	CHECK(netguard_check_text("2606:4700:4700::1111", false, why, sizeof(why)) == 0);
	CHECK(netguard_check_text("127.0.0.1", true, why, sizeof(why)) == 0);
	CHECK(netguard_check_text("127.0.0.1", false, why, sizeof(why)) == -EACCES);
	CHECK_STR_EQ(why, "refused: 127.0.0.1 is a loopback address; set allow_private_networks "
			  "to allow it");
	CHECK(netguard_check_text("::ffff:10.0.0.1", false, why, sizeof(why)) == -EACCES);
	CHECK(netguard_check_text("fd00:ec2::254", true, why, sizeof(why)) == -EACCES);
	CHECK_STR_EQ(why, "refused: fd00:ec2::254 is a cloud metadata address; never allowed");
	/* not an address at all: refused, never guessed */
	CHECK(netguard_check_text("localhost", true, why, sizeof(why)) == -EACCES);
	CHECK(netguard_check_text("", true, why, sizeof(why)) == -EACCES);
	CHECK(netguard_check_text(NULL, true, why, sizeof(why)) == -EACCES);
}

int main(void)
{
	test_text();
	test_classes();
	test_policy();
	test_messages();
	return check_summary("test_netguard");
}
