/*
 * ndr.h - NDR marshalling primitives for both transfer syntaxes, NDR (NDR32,
 * [C706] ch. 14) and NDR64 ([MS-RPCE] 2.2.5.3), pure: no I/O, no event loop.
 * Little-endian data representation only (drep 0x10); the DCERPC layer
 * rejects other representations before NDR sees them.
 *
 * Transfer syntax: a flag of the marshalling context (NDR_FLAG_NDR64 in
 * ndr_push.flags / ndr_pull.flags, as Samba's LIBNDR_FLAG_NDR64), so every
 * structure has one encoder for both syntaxes. What changes in NDR64
 * ([MS-RPCE] 2.2.5.3.1-2.2.5.3.4): referent ids, conformance, offset and
 * actual counts are 8 bytes aligned to 8 (ndr_push_ptr, ndr_push_u3264, the
 * wstring functions do it); a structure that holds a pointer or a count is
 * aligned to 8 (ndr_push_align_ptr); a structure's scalars are padded to its
 * alignment at its end (ndr_push_trailer_align, a no-op in NDR32). The
 * fixed-size scalars (u8..u64, GUID, the 20-byte context handle) keep their
 * size and alignment. Our IDL has no 16-bit default enum and no NDR union
 * (the witness message buffer is a byte array), the two other NDR64 changes.
 *
 * Push: an ndr_push grows its own buffer. Errors are sticky: after the first
 * failure every later push is a no-op and ndr_push_finish() returns the error,
 * so encoders can push a whole structure and check once.
 *
 * Alignment: the fixed-size primitives (u8, u16, u32, u64, bytes, guid) NEVER
 * align by themselves (the same buffers build PDU headers and EPM tower
 * octets, which are unaligned); call ndr_push_align/ndr_pull_align before a
 * scalar as NDR requires. ndr_push_ptr/ndr_pull_ptr and the wstring
 * functions, which exist only in NDR, align to 4 themselves.
 * Referent ids start at 0x00020000 and step by 4, as Samba's
 * ndr_push_unique_ptr does (byte-exact vectors depend on it).
 *
 * Pull: an ndr_pull reads a borrowed buffer. Every pull checks the remaining
 * length first; errors are sticky the same way. Strings are bounded
 * (NDR_MAX_STRING chars) before anything is allocated. Outputs are set only
 * on success.
 */
#ifndef WITNESS_NDR_H
#define WITNESS_NDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "witness/guid.h"

#define NDR_MAX_STRING 4096       /* UTF-16 code units, NUL included */
#define NDR_MAX_ARRAY  (1u << 20) /* elements in any conformant array */

/* ndr_push.flags / ndr_pull.flags */
#define NDR_FLAG_NDR64 0x1u /* transfer syntax NDR64 ([MS-RPCE] 2.2.5.3), else NDR */

struct ndr_push {
	uint8_t *data; /* owned; release with ndr_push_free or take with _steal */
	size_t len;
	size_t cap;
	uint32_t next_ref_id; /* referent ids for unique/full pointers */
	int err;              /* sticky, 0 or WD_E* */
	uint32_t flags;       /* NDR_FLAG_*; kept by ndr_push_free and _steal */
};

struct ndr_pull {
	const uint8_t *data; /* borrowed */
	size_t len;
	size_t off;
	int err;        /* sticky */
	uint32_t flags; /* NDR_FLAG_* */
};

/* An NDR32 push; ndr_push_init_flags(p, NDR_FLAG_NDR64) for NDR64. */
void ndr_push_init(struct ndr_push *p);
void ndr_push_init_flags(struct ndr_push *p, uint32_t flags);
void ndr_push_free(struct ndr_push *p);
/* Returns the sticky error (0 on success). */
int ndr_push_finish(const struct ndr_push *p);
/*
 * Hands the buffer to the caller (free()) and resets p; never NULL on
 * success, even for 0 bytes. NULL if p->err: the buffer is freed then and
 * p keeps its error (ndr_push_free(p) afterwards is harmless either way).
 */
uint8_t *ndr_push_steal(struct ndr_push *p, size_t *len);

void ndr_push_align(struct ndr_push *p, size_t n); /* zero padding */
/* Align to a pointer / count: 4 in NDR32, 8 in NDR64. */
void ndr_push_align_ptr(struct ndr_push *p);
/* End of a structure's scalars: align to n in NDR64 only. */
void ndr_push_trailer_align(struct ndr_push *p, size_t n);
/* A conformance, offset or actual count: u32 in NDR32, aligned u64 in NDR64. */
void ndr_push_u3264(struct ndr_push *p, uint32_t v);
void ndr_push_u8(struct ndr_push *p, uint8_t v);
void ndr_push_u16(struct ndr_push *p, uint16_t v);
void ndr_push_u32(struct ndr_push *p, uint32_t v);
void ndr_push_u64(struct ndr_push *p, uint64_t v);
void ndr_push_bytes(struct ndr_push *p, const void *b, size_t n);
void ndr_push_zero(struct ndr_push *p, size_t n);
void ndr_push_guid(struct ndr_push *p, const struct wd_guid *g);
/*
 * A unique/full pointer: 0 for NULL, else a fresh nonzero referent id; 4
 * bytes aligned to 4 in NDR32, 8 aligned to 8 in NDR64.
 */
void ndr_push_ptr(struct ndr_push *p, const void *ptr);
/*
 * A [string] conformant-varying UTF-16 string from UTF-8 s (not NULL):
 * max_count, offset 0, actual_count (NUL included), code units. Invalid
 * UTF-8 sets WD_EINVAL.
 */
void ndr_push_wstring(struct ndr_push *p, const char *s);
/* Overwrite a u32 at an earlier offset (lengths known only later). */
void ndr_push_u32_at(struct ndr_push *p, size_t off, uint32_t v);

void ndr_pull_init(struct ndr_pull *p, const uint8_t *data, size_t len); /* NDR32 */
void ndr_pull_init_flags(struct ndr_pull *p, const uint8_t *data, size_t len, uint32_t flags);
int ndr_pull_finish(const struct ndr_pull *p); /* sticky error */
/* Bytes not yet consumed; 0 after an error. */
size_t ndr_pull_remaining(const struct ndr_pull *p);
void ndr_pull_align(struct ndr_pull *p, size_t n);
void ndr_pull_align_ptr(struct ndr_pull *p);
void ndr_pull_trailer_align(struct ndr_pull *p, size_t n);
/* A count; in NDR64 a value above UINT32_MAX is WD_ERANGE (Samba: NDR_ERR_NDR64). */
void ndr_pull_u3264(struct ndr_pull *p, uint32_t *v);
void ndr_pull_u8(struct ndr_pull *p, uint8_t *v);
void ndr_pull_u16(struct ndr_pull *p, uint16_t *v);
void ndr_pull_u32(struct ndr_pull *p, uint32_t *v);
void ndr_pull_u64(struct ndr_pull *p, uint64_t *v);
void ndr_pull_bytes(struct ndr_pull *p, void *b, size_t n);
/* Borrow n bytes in place (NULL on error). */
const uint8_t *ndr_pull_borrow(struct ndr_pull *p, size_t n);
void ndr_pull_guid(struct ndr_pull *p, struct wd_guid *g);
/* Referent id of a unique pointer; *present = (id != 0). */
void ndr_pull_ptr(struct ndr_pull *p, bool *present);
/*
 * A [string] conformant-varying UTF-16 string, converted to a malloc'd UTF-8
 * string in *out (caller frees). Rejects offset != 0, actual > max,
 * a missing terminating NUL, embedded NULs, unpaired surrogates and lengths
 * above NDR_MAX_STRING (WD_EPROTO / WD_ERANGE).
 */
void ndr_pull_wstring(struct ndr_pull *p, char **out);

/*
 * A context handle on the wire ([MS-RPCE] 2.2.4.2; Samba's policy_handle in
 * misc.idl): 20 bytes, handle_type then a UUID.
 */
struct ndr_policy_handle {
	uint32_t handle_type;
	struct wd_guid uuid;
};

/* A policy_handle as a structure: 4-aligned, handle_type then the UUID (the
 * witness interface's context handles and the endpoint mapper's entry handle). */
void ndr_push_policy_handle(struct ndr_push *p, const struct ndr_policy_handle *h);
void ndr_pull_policy_handle(struct ndr_pull *p, struct ndr_policy_handle *h);

/*
 * UTF-8 <-> UTF-16LE, the tree's one pair of converters (NDR strings, the
 * NTLM names and password hash). Strict both ways: overlong UTF-8 forms
 * (C0 80, C1 81, E0 80 AF...), encoded surrogates, code points above
 * U+10FFFF, truncated sequences, unpaired UTF-16 surrogates and (from UTF-16)
 * NULs are WD_EINVAL.
 */
/* Encodes s into a malloc'd UTF-16LE buffer without NUL; *units = code units. */
int wd_utf8_to_utf16le(const char *s, uint8_t **out, size_t *units);
/* Decodes n code units of UTF-16LE into a malloc'd NUL-terminated UTF-8 string. */
int wd_utf16le_to_utf8(const uint8_t *in, size_t units, char **out);
/*
 * The same into the caller's buffer: len bytes of UTF-8 (no NUL needed) into
 * out[out_cap]; out NULL only measures. Returns the number of bytes written
 * (or needed), WD_EINVAL or WD_ERANGE (out too small, input too long).
 */
int wd_utf8_to_utf16le_buf(const char *s, size_t len, uint8_t *out, size_t out_cap);
/* units code units into out[out_cap] with a NUL; returns the length without it. */
int wd_utf16le_to_utf8_buf(const uint8_t *in, size_t units, char *out, size_t out_cap);

#endif
