/*
 * pdu.h - connection-oriented DCERPC PDUs ([C706] 12.6, [MS-RPCE] 2.2.2),
 * internal to src/dcerpc. Pure marshalling: no I/O, no event loop.
 *
 * Every PDU type has a _pull and a _push. A pull takes the whole fragment
 * (buf, len), validates it against the common header, and fills a plain
 * struct whose pointers BORROW from buf (valid while buf lives). A push
 * appends a complete fragment into a caller-provided growable buffer
 * (struct dcerpc_buf) with frag_length filled in.
 *
 * Only little-endian NDR data representation (drep 10 00 00 00) is accepted:
 * the Samba server refuses anything else too (librpc/rpc/dcerpc_util.c).
 */
#ifndef WD_DCERPC_PDU_H
#define WD_DCERPC_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "witness/guid.h"

enum dcerpc_ptype {
	DCERPC_PKT_REQUEST = 0,
	DCERPC_PKT_RESPONSE = 2,
	DCERPC_PKT_FAULT = 3,
	DCERPC_PKT_BIND = 11,
	DCERPC_PKT_BIND_ACK = 12,
	DCERPC_PKT_BIND_NAK = 13,
	DCERPC_PKT_ALTER = 14,
	DCERPC_PKT_ALTER_RESP = 15,
	DCERPC_PKT_AUTH3 = 16,
	DCERPC_PKT_SHUTDOWN = 17,
	DCERPC_PKT_CO_CANCEL = 18,
	DCERPC_PKT_ORPHANED = 19,
};

/* pfc_flags [MS-RPCE] 2.2.2.3 */
enum {
	DCERPC_PFC_FIRST = 0x01,
	DCERPC_PFC_LAST = 0x02,
	DCERPC_PFC_PENDING_CANCEL = 0x04, /* request/response */
	DCERPC_PFC_HDR_SIGN = 0x04,       /* bind/ack/alter/resp/auth3 */
	DCERPC_PFC_CONC_MPX = 0x10,
	DCERPC_PFC_DID_NOT_EXECUTE = 0x20,
	DCERPC_PFC_MAYBE = 0x40,
	DCERPC_PFC_OBJECT_UUID = 0x80,
};

/* p_cont_def_result_t and reasons ([MS-RPCE] 2.2.2.4, [C706] 12.6.3.1) */
enum {
	DCERPC_RESULT_ACCEPT = 0,
	DCERPC_RESULT_USER_REJECT = 1,
	DCERPC_RESULT_PROVIDER_REJECT = 2,
	DCERPC_RESULT_NEGOTIATE_ACK = 3,
	DCERPC_REASON_NOT_SPECIFIED = 0,
	DCERPC_REASON_ABSTRACT_NOT_SUPPORTED = 1,
	DCERPC_REASON_TRANSFER_NOT_SUPPORTED = 2,
	DCERPC_REASON_LOCAL_LIMIT = 3,
};

/* bind_nak provider_reject_reason ([MS-RPCE] 2.2.2.5) */
enum {
	DCERPC_NAK_NOT_SPECIFIED = 0,
	DCERPC_NAK_TEMPORARY_CONGESTION = 1,
	DCERPC_NAK_LOCAL_LIMIT = 2,
	DCERPC_NAK_PROTOCOL_VERSION = 4,
	DCERPC_NAK_AUTH_TYPE_NOT_RECOGNIZED = 8,
	DCERPC_NAK_INVALID_CHECKSUM = 9,
};

#define DCERPC_HDR_LEN         16
#define DCERPC_REQ_HDR_LEN     24 /* common header + alloc_hint, ctx, opnum */
#define DCERPC_RESP_HDR_LEN    24 /* common header + alloc_hint, ctx, cancel, rsvd */
#define DCERPC_FAULT_LEN       32
#define DCERPC_TRAILER_LEN     8
#define DCERPC_MAX_CTX_ELEMS   32 /* p_cont_elem per bind we parse */
#define DCERPC_MAX_XFER_SYNTAX 8  /* transfer syntaxes per element */

struct dcerpc_hdr {
	uint8_t rpc_vers;
	uint8_t rpc_vers_minor;
	uint8_t ptype;
	uint8_t pfc_flags;
	uint8_t drep[4];
	uint16_t frag_length;
	uint16_t auth_length;
	uint32_t call_id;
};

struct dcerpc_pdu_syntax {
	struct wd_guid uuid;
	uint32_t version; /* major | minor << 16 */
};

struct dcerpc_ctx_elem {
	uint16_t context_id;
	uint8_t n_transfer;
	struct dcerpc_pdu_syntax abstract;
	struct dcerpc_pdu_syntax transfer[DCERPC_MAX_XFER_SYNTAX];
};

struct dcerpc_sec_trailer {
	uint8_t auth_type;
	uint8_t auth_level;
	uint8_t auth_pad_length;
	uint8_t auth_reserved;
	uint32_t auth_context_id;
};

/* Auth part of any PDU: present iff hdr.auth_length != 0. */
struct dcerpc_auth {
	bool present;
	struct dcerpc_sec_trailer trailer;
	size_t trailer_off;   /* offset of the sec_trailer in the fragment */
	const uint8_t *token; /* borrowed */
	size_t token_len;
	/* bind, alter_context, auth3: auth_pad_length (read as 0) is more than
	 * the fragment could hold past a request header (Samba's
	 * dcerpc_pull_auth_trailer refuses it) */
	bool pad_invalid;
};

/* bind (11) and alter_context (14) */
struct dcerpc_bind {
	struct dcerpc_hdr hdr;
	uint16_t max_xmit_frag;
	uint16_t max_recv_frag;
	uint32_t assoc_group_id;
	uint8_t n_ctx;
	struct dcerpc_ctx_elem ctx[DCERPC_MAX_CTX_ELEMS];
	struct dcerpc_auth auth;
};

struct dcerpc_ack_result {
	uint16_t result;
	uint16_t reason;
	struct dcerpc_pdu_syntax transfer;
};

/* bind_ack (12) and alter_context_resp (15) */
struct dcerpc_bind_ack {
	struct dcerpc_hdr hdr;
	uint16_t max_xmit_frag;
	uint16_t max_recv_frag;
	uint32_t assoc_group_id;
	const char *sec_addr;  /* NUL-terminated when sec_addr_len > 0; borrowed */
	uint16_t sec_addr_len; /* incl. NUL */
	uint8_t n_results;
	struct dcerpc_ack_result results[DCERPC_MAX_CTX_ELEMS];
	struct dcerpc_auth auth;
};

struct dcerpc_bind_nak {
	struct dcerpc_hdr hdr;
	uint16_t reject_reason;
	uint8_t n_versions;
	uint8_t versions[8][2]; /* {major, minor}; at most 8 kept */
};

/* request (0) */
struct dcerpc_request {
	struct dcerpc_hdr hdr;
	uint32_t alloc_hint;
	uint16_t context_id;
	uint16_t opnum;
	bool has_object;
	struct wd_guid object;
	size_t stub_off;     /* offset of the stub in the fragment: 24 or 40 */
	const uint8_t *stub; /* borrowed; includes auth pad if auth present */
	size_t stub_len;     /* up to the sec_trailer (pad not removed) */
	struct dcerpc_auth auth;
};

/* response (2) */
struct dcerpc_response {
	struct dcerpc_hdr hdr;
	uint32_t alloc_hint;
	uint16_t context_id;
	uint8_t cancel_count;
	size_t stub_off;
	const uint8_t *stub;
	size_t stub_len;
	struct dcerpc_auth auth;
};

/* fault (3) */
struct dcerpc_fault {
	struct dcerpc_hdr hdr;
	uint32_t alloc_hint;
	uint16_t context_id;
	uint8_t cancel_count;
	uint8_t flags;
	uint32_t status;
};

/* rpc_auth_3 (16), co_cancel (18), orphaned (19), shutdown (17) */
struct dcerpc_simple {
	struct dcerpc_hdr hdr;
	struct dcerpc_auth auth;
};

/* A growable output buffer; data is malloc'd and owned by the struct. */
struct dcerpc_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};
void dcerpc_buf_free(struct dcerpc_buf *b);
int dcerpc_buf_reserve(struct dcerpc_buf *b, size_t extra);

/*
 * Common header. dcerpc_hdr_pull checks only the 16 bytes: version 5.0,
 * drep, frag_length >= 16 and auth_length fits. Returns 0, WD_ESHORT
 * (len < 16), WD_EVERSION (rpc_vers/minor), WD_EPROTO (anything else).
 * The header is filled even on WD_EVERSION/WD_EPROTO so that the caller
 * can answer with the right call_id.
 */
int dcerpc_hdr_pull(const uint8_t *buf, size_t len, struct dcerpc_hdr *out);
void dcerpc_hdr_push(uint8_t out[DCERPC_HDR_LEN], const struct dcerpc_hdr *h);
/* Fills a header with version 5.0, drep LE and the given fields. */
void dcerpc_hdr_init(struct dcerpc_hdr *h, uint8_t ptype, uint8_t pfc, uint32_t call_id);

/*
 * Locate the auth part of a fragment ([MS-RPCE] 2.2.2.11): the sec_trailer is
 * at frag_length - auth_length - 8 and must not start before body_min.
 * honour_pad: check auth_pad_length against the space before the trailer
 * (request/response); bind/alter/auth3 ignore it (Samba zeroes it).
 */
int dcerpc_auth_pull(const uint8_t *buf, size_t len, const struct dcerpc_hdr *h, size_t body_min,
                     bool honour_pad, struct dcerpc_auth *out);

/* PDU pulls: buf/len is one whole fragment (len == frag_length). */
int dcerpc_bind_pull(const uint8_t *buf, size_t len, struct dcerpc_bind *out);
int dcerpc_bind_ack_pull(const uint8_t *buf, size_t len, struct dcerpc_bind_ack *out);
int dcerpc_bind_nak_pull(const uint8_t *buf, size_t len, struct dcerpc_bind_nak *out);
int dcerpc_request_pull(const uint8_t *buf, size_t len, struct dcerpc_request *out);
int dcerpc_response_pull(const uint8_t *buf, size_t len, struct dcerpc_response *out);
int dcerpc_fault_pull(const uint8_t *buf, size_t len, struct dcerpc_fault *out);
int dcerpc_simple_pull(const uint8_t *buf, size_t len, struct dcerpc_simple *out);

/*
 * PDU pushes: append one fragment to b; frag_length and auth_length are
 * computed. When auth != NULL a sec_trailer (with auth->trailer) and
 * auth->token (token_len bytes, may be NULL to reserve zeroes) follow.
 */
int dcerpc_bind_push(struct dcerpc_buf *b, const struct dcerpc_bind *in,
                     const struct dcerpc_auth *auth);
int dcerpc_bind_ack_push(struct dcerpc_buf *b, const struct dcerpc_bind_ack *in,
                         const struct dcerpc_auth *auth);
int dcerpc_bind_nak_push(struct dcerpc_buf *b, const struct dcerpc_bind_nak *in);
/*
 * request/response: stub of stub_len bytes; when auth != NULL, pads the stub
 * to 16 bytes (relative to stub start, [MS-RPCE] 2.2.2.11) and sets
 * auth_pad_length itself.
 */
int dcerpc_request_push(struct dcerpc_buf *b, const struct dcerpc_request *in,
                        const struct dcerpc_auth *auth);
int dcerpc_response_push(struct dcerpc_buf *b, const struct dcerpc_response *in,
                         const struct dcerpc_auth *auth);
int dcerpc_fault_push(struct dcerpc_buf *b, const struct dcerpc_fault *in);
int dcerpc_simple_push(struct dcerpc_buf *b, const struct dcerpc_simple *in,
                       const struct dcerpc_auth *auth);

/* Wire syntax ids */
extern const struct dcerpc_pdu_syntax dcerpc_ndr32_syntax;
extern const struct dcerpc_pdu_syntax dcerpc_ndr64_syntax;
bool dcerpc_syntax_equal(const struct dcerpc_pdu_syntax *a, const struct dcerpc_pdu_syntax *b);
/* Bind-time feature negotiation syntax 6cb71c2c-9812-4540-<bitmask> ([MS-RPCE] 2.2.2.14) */
bool dcerpc_syntax_is_btfn(const struct dcerpc_pdu_syntax *s, uint64_t *bitmask);

/*
 * Verification trailer ([MS-RPCE] 2.2.2.13): if stub ends with a well-formed
 * trailer (magic on a 4-byte boundary within the last 1024 bytes, commands up
 * to the end), returns its offset in *vt_off and 0; WD_ENOTFOUND when there is
 * none; WD_EPROTO when the magic is there but the commands are malformed or a
 * PCONTEXT command does not match (abstract, transfer) when given.
 */
int dcerpc_vt_find(const uint8_t *stub, size_t len, const struct dcerpc_pdu_syntax *abstract,
                   const struct dcerpc_pdu_syntax *transfer, size_t *vt_off);

#endif
