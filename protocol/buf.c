/* SPDX-License-Identifier: ISC */
#include <string.h>

#include "buf.h"
#include "err.h"

void
vbuf_reader(struct vbuf *b, const void *data, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->vb_rd = data;
	b->vb_len = len;
}

void
vbuf_writer(struct vbuf *b, void *data, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->vb_wr = data;
	b->vb_cap = cap;
}

size_t
vbuf_left(const struct vbuf *b)
{
	return b->vb_len - b->vb_off;
}

int
vbuf_end(const struct vbuf *b)
{
	return vbuf_left(b) == 0 ? 0 : VEIL_E_TRAILING;
}

int
vbuf_get_ref(struct vbuf *b, const uint8_t **p, size_t n)
{
	*p = NULL;
	if (b->vb_rd == NULL || vbuf_left(b) < n)
		return VEIL_E_TRUNCATED;
	*p = b->vb_rd + b->vb_off;
	b->vb_off += n;
	return 0;
}

void
vbuf_get_rest(struct vbuf *b, const uint8_t **p, size_t *n)
{
	*n = vbuf_left(b);
	*p = b->vb_rd == NULL ? NULL : b->vb_rd + b->vb_off;
	b->vb_off = b->vb_len;
}

int
vbuf_get_bytes(struct vbuf *b, void *out, size_t n)
{
	const uint8_t *p;
	int r;

	if ((r = vbuf_get_ref(b, &p, n)) != 0) {
		if (n > 0)
			memset(out, 0, n);
		return r;
	}
	if (n > 0)
		memcpy(out, p, n);
	return 0;
}

int
vbuf_get_u8(struct vbuf *b, uint8_t *v)
{
	const uint8_t *p;
	int r;

	*v = 0;
	if ((r = vbuf_get_ref(b, &p, 1)) != 0)
		return r;
	*v = p[0];
	return 0;
}

int
vbuf_get_u16(struct vbuf *b, uint16_t *v)
{
	const uint8_t *p;
	int r;

	*v = 0;
	if ((r = vbuf_get_ref(b, &p, 2)) != 0)
		return r;
	*v = veil_get16(p);
	return 0;
}

int
vbuf_get_u32(struct vbuf *b, uint32_t *v)
{
	const uint8_t *p;
	int r;

	*v = 0;
	if ((r = vbuf_get_ref(b, &p, 4)) != 0)
		return r;
	*v = veil_get32(p);
	return 0;
}

int
vbuf_get_u64(struct vbuf *b, uint64_t *v)
{
	const uint8_t *p;
	int r;

	*v = 0;
	if ((r = vbuf_get_ref(b, &p, 8)) != 0)
		return r;
	*v = ((uint64_t)veil_get32(p) << 32) | veil_get32(p + 4);
	return 0;
}

/* Reads a length of lenbytes, checks it against max, then against what is left. */
static int
get_str(struct vbuf *b, const uint8_t **p, size_t *n, size_t max, size_t lenbytes)
{
	size_t save = b->vb_off, len;
	uint32_t v32;
	uint16_t v16;
	uint8_t v8;
	int r;

	*p = NULL;
	*n = 0;
	if (lenbytes == 1) {
		r = vbuf_get_u8(b, &v8);
		len = v8;
	} else if (lenbytes == 2) {
		r = vbuf_get_u16(b, &v16);
		len = v16;
	} else {
		r = vbuf_get_u32(b, &v32);
		len = v32;
	}
	if (r != 0)
		return r;
	if (len > max) {
		b->vb_off = save;
		return VEIL_E_OVERSIZE;
	}
	if ((r = vbuf_get_ref(b, p, len)) != 0) {
		b->vb_off = save;
		return r;
	}
	*n = len;
	return 0;
}

int
vbuf_get_str8(struct vbuf *b, const uint8_t **p, size_t *n, size_t max)
{
	return get_str(b, p, n, max, 1);
}

int
vbuf_get_str16(struct vbuf *b, const uint8_t **p, size_t *n, size_t max)
{
	return get_str(b, p, n, max, 2);
}

int
vbuf_get_str32(struct vbuf *b, const uint8_t **p, size_t *n, size_t max)
{
	return get_str(b, p, n, max, 4);
}

int
vbuf_reserve(struct vbuf *b, uint8_t **p, size_t n)
{
	*p = NULL;
	if (b->vb_wr == NULL || b->vb_cap - b->vb_len < n)
		return VEIL_E_NOSPACE;
	*p = b->vb_wr + b->vb_len;
	b->vb_len += n;
	return 0;
}

int
vbuf_put_bytes(struct vbuf *b, const void *src, size_t n)
{
	uint8_t *p;
	int r;

	if ((r = vbuf_reserve(b, &p, n)) != 0)
		return r;
	if (n > 0)
		memcpy(p, src, n);
	return 0;
}

int
vbuf_put_u8(struct vbuf *b, uint8_t v)
{
	return vbuf_put_bytes(b, &v, 1);
}

int
vbuf_put_u16(struct vbuf *b, uint16_t v)
{
	uint8_t t[2];

	veil_put16(t, v);
	return vbuf_put_bytes(b, t, sizeof(t));
}

int
vbuf_put_u32(struct vbuf *b, uint32_t v)
{
	uint8_t t[4];

	veil_put32(t, v);
	return vbuf_put_bytes(b, t, sizeof(t));
}

int
vbuf_put_u64(struct vbuf *b, uint64_t v)
{
	uint8_t t[8];

	veil_put32(t, (uint32_t)(v >> 32));
	veil_put32(t + 4, (uint32_t)v);
	return vbuf_put_bytes(b, t, sizeof(t));
}

/* Writes length then bytes, or nothing at all. */
static int
put_str(struct vbuf *b, const void *p, size_t n, size_t lenbytes, size_t max)
{
	size_t save = b->vb_len;
	int r;

	if (n > max)
		return VEIL_E_OVERSIZE;
	if (lenbytes == 1)
		r = vbuf_put_u8(b, (uint8_t)n);
	else if (lenbytes == 2)
		r = vbuf_put_u16(b, (uint16_t)n);
	else
		r = vbuf_put_u32(b, (uint32_t)n);
	if (r == 0 && (r = vbuf_put_bytes(b, p, n)) != 0)
		b->vb_len = save;
	return r;
}

int
vbuf_put_str8(struct vbuf *b, const void *p, size_t n)
{
	return put_str(b, p, n, 1, UINT8_MAX);
}

int
vbuf_put_str16(struct vbuf *b, const void *p, size_t n)
{
	return put_str(b, p, n, 2, UINT16_MAX);
}

int
vbuf_put_str32(struct vbuf *b, const void *p, size_t n)
{
	return put_str(b, p, n, 4, UINT32_MAX);
}
