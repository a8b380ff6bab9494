/* SPDX-License-Identifier: ISC */
#ifndef VEIL_B64_H
#define VEIL_B64_H

/*
 * The value (0..63) of one base64 character (RFC 4648): the standard
 * alphabet's "+/" when url is 0 (relay fingerprints), the URL-safe "-_"
 * when 1 (invite codes); -1 for any other character. Shared by the strict
 * decoders of relayfp.c and invite.c.
 */
static inline int
proto_b64_value(char c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

#endif
