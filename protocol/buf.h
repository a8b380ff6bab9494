/* SPDX-License-Identifier: ISC */
#ifndef VEIL_BUF_H
#define VEIL_BUF_H

#include <stddef.h>
#include <stdint.h>

#define VEIL_WUR __attribute__((warn_unused_result))

/*
 * The one buffer type for all wire access (after OpenSSH's sshbuf, but over
 * caller-owned memory: nothing here allocates). A vbuf is either a reader
 * over const bytes or a writer into a fixed-capacity array. All integers are
 * big-endian. Every get checks the remaining length first; on failure the
 * out-parameters are cleared and the read position does not move.
 */
struct vbuf {
	const uint8_t	*vb_rd;		/* reader: the bytes being parsed */
	uint8_t		*vb_wr;		/* writer: the destination array */
	size_t		 vb_len;	/* reader: bytes valid; writer: bytes written */
	size_t		 vb_cap;	/* writer: capacity of vb_wr */
	size_t		 vb_off;	/* reader: bytes consumed */
};

/* Starts reading len bytes at data. The bytes must outlive the vbuf. */
void	vbuf_reader(struct vbuf *b, const void *data, size_t len);
/* Starts writing into data, at most cap bytes. */
void	vbuf_writer(struct vbuf *b, void *data, size_t cap);

/* Bytes not yet read. */
size_t	vbuf_left(const struct vbuf *b);
/* 0 when every byte has been read, VEIL_E_TRAILING otherwise. */
int	vbuf_end(const struct vbuf *b) VEIL_WUR;

/* Getters: 0, or VEIL_E_TRUNCATED when fewer bytes remain than needed. */
int	vbuf_get_u8(struct vbuf *b, uint8_t *v) VEIL_WUR;
int	vbuf_get_u16(struct vbuf *b, uint16_t *v) VEIL_WUR;
int	vbuf_get_u32(struct vbuf *b, uint32_t *v) VEIL_WUR;
int	vbuf_get_u64(struct vbuf *b, uint64_t *v) VEIL_WUR;
/* Copies n bytes out. */
int	vbuf_get_bytes(struct vbuf *b, void *out, size_t n) VEIL_WUR;
/* Points *p at the next n bytes (no copy); valid while the input is. */
int	vbuf_get_ref(struct vbuf *b, const uint8_t **p, size_t n) VEIL_WUR;
/* Points *p at all remaining bytes, *n their count (may be 0). */
void	vbuf_get_rest(struct vbuf *b, const uint8_t **p, size_t *n);
/*
 * Length-prefixed strings (u8, u16 or u32 prefix). The length is checked
 * against max first (VEIL_E_OVERSIZE), then against what is left
 * (VEIL_E_TRUNCATED). *p points into the input.
 */
int	vbuf_get_str8(struct vbuf *b, const uint8_t **p, size_t *n, size_t max) VEIL_WUR;
int	vbuf_get_str16(struct vbuf *b, const uint8_t **p, size_t *n, size_t max) VEIL_WUR;
int	vbuf_get_str32(struct vbuf *b, const uint8_t **p, size_t *n, size_t max) VEIL_WUR;

/* Putters: 0, or VEIL_E_NOSPACE (nothing written) when the writer is full. */
int	vbuf_put_u8(struct vbuf *b, uint8_t v) VEIL_WUR;
int	vbuf_put_u16(struct vbuf *b, uint16_t v) VEIL_WUR;
int	vbuf_put_u32(struct vbuf *b, uint32_t v) VEIL_WUR;
int	vbuf_put_u64(struct vbuf *b, uint64_t v) VEIL_WUR;
int	vbuf_put_bytes(struct vbuf *b, const void *p, size_t n) VEIL_WUR;
/* Length-prefixed strings; VEIL_E_OVERSIZE when n does not fit the prefix or max. */
int	vbuf_put_str8(struct vbuf *b, const void *p, size_t n) VEIL_WUR;
int	vbuf_put_str16(struct vbuf *b, const void *p, size_t n) VEIL_WUR;
int	vbuf_put_str32(struct vbuf *b, const void *p, size_t n) VEIL_WUR;
/* Reserves n bytes and points *p at them (for in-place encryption). */
int	vbuf_reserve(struct vbuf *b, uint8_t **p, size_t n) VEIL_WUR;

/* Plain big-endian helpers for fixed headers. */
static inline uint16_t veil_get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t veil_get32(const uint8_t *p) {
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void veil_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void veil_put32(uint8_t *p, uint32_t v) {
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

#endif
