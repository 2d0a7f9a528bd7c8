/*
 * smb2.c - SMB2 NEGOTIATE, SESSION_SETUP and TREE_CONNECT ([MS-SMB2] 2.2)
 * for witnessctl doctor: pure push and pull, see include/witness/smb2.h.
 */
#include <stdbool.h>
#include <string.h>

#include "witness/err.h"
#include "witness/smb2.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* Transport header ([MS-SMB2] 2.1: a zero byte and a 24-bit length) and the
 * sync header ([MS-SMB2] 2.2.1.2) at buf; msg_len = header + body. */
static void frame(uint8_t *buf, size_t msg_len, uint16_t cmd, uint64_t mid, uint64_t sid)
{
	uint8_t *h = buf + 4;

	buf[0] = 0;
	buf[1] = (uint8_t)(msg_len >> 16);
	buf[2] = (uint8_t)(msg_len >> 8);
	buf[3] = (uint8_t)msg_len;
	memset(h, 0, SMB2_HDR_LEN);
	memcpy(h, "\xfeSMB", 4);
	put16(h + 4, SMB2_HDR_LEN);
	put16(h + 6, 1); /* CreditCharge */
	put16(h + 12, cmd);
	put16(h + 14, 31); /* CreditRequest, as Windows asks */
	put64(h + 24, mid);
	put64(h + 40, sid);
}

int smb2_negotiate_req(uint8_t *buf, size_t cap, uint64_t message_id, const uint16_t *dialects,
                       size_t n, const uint8_t client_guid[16])
{
	size_t body = 36 + 2 * n, ctx_off = 0, total, i;
	bool v311 = false;
	uint8_t *b;

	if (n == 0 || n > 16)
		return WD_EINVAL;
	for (i = 0; i < n; i++)
		v311 |= dialects[i] == 0x0311;
	total = SMB2_HDR_LEN + body;
	if (v311) {
		/* contexts 8-aligned from the header; PREAUTH: 8 + 4 + 32 bytes */
		ctx_off = (total + 7) & ~(size_t)7;
		total = ctx_off + 8 + 38;
	}
	if (cap < total + 4)
		return WD_ERANGE;
	memset(buf, 0, total + 4);
	frame(buf, total, SMB2_NEGOTIATE, message_id, 0);
	b = buf + 4 + SMB2_HDR_LEN;
	put16(b, 36);
	put16(b + 2, (uint16_t)n);
	put16(b + 4, 1); /* SecurityMode: signing enabled */
	/* Capabilities: as a 3.x client that would use them */
	put32(b + 8, SMB2_GLOBAL_CAP_DFS | SMB2_GLOBAL_CAP_LEASING | SMB2_GLOBAL_CAP_LARGE_MTU |
	                 SMB2_GLOBAL_CAP_MULTI_CHANNEL | SMB2_GLOBAL_CAP_PERSISTENT_HANDLES |
	                 SMB2_GLOBAL_CAP_DIRECTORY_LEASING | SMB2_GLOBAL_CAP_ENCRYPTION);
	memcpy(b + 12, client_guid, 16);
	if (v311) {
		put32(b + 28, (uint32_t)ctx_off);
		put16(b + 32, 1);
	}
	for (i = 0; i < n; i++)
		put16(b + 36 + 2 * i, dialects[i]);
	if (v311) {
		uint8_t *c = buf + 4 + ctx_off;

		put16(c, 1);       /* SMB2_PREAUTH_INTEGRITY_CAPABILITIES */
		put16(c + 2, 38);  /* DataLength */
		put16(c + 8, 1);   /* HashAlgorithmCount */
		put16(c + 10, 32); /* SaltLength */
		put16(c + 12, 1);  /* SHA-512 */
		for (i = 0; i < 32; i++)
			c[14 + i] = client_guid[i % 16] ^ (uint8_t)i; /* a salt; no secret */
	}
	return (int)(total + 4);
}

int smb2_session_setup_req(uint8_t *buf, size_t cap, uint64_t message_id, uint64_t session_id,
                           const uint8_t *token, size_t token_len)
{
	size_t total = SMB2_HDR_LEN + 24 + token_len;
	uint8_t *b;

	if (token_len > 0xffff || cap < total + 4)
		return WD_ERANGE;
	memset(buf, 0, 4 + SMB2_HDR_LEN + 24);
	frame(buf, total, SMB2_SESSION_SETUP, message_id, session_id);
	b = buf + 4 + SMB2_HDR_LEN;
	put16(b, 25);
	b[3] = 1; /* SecurityMode: signing enabled */
	put16(b + 12, SMB2_HDR_LEN + 24);
	put16(b + 14, (uint16_t)token_len);
	memcpy(b + 24, token, token_len);
	return (int)(total + 4);
}

int smb2_tree_connect_req(uint8_t *buf, size_t cap, uint64_t message_id, uint64_t session_id,
                          const char *path)
{
	size_t n = strlen(path), total = SMB2_HDR_LEN + 8 + 2 * n, i;
	uint8_t *b;

	if (n == 0 || n > 1024 || cap < total + 4)
		return WD_ERANGE;
	for (i = 0; i < n; i++) {
		if ((unsigned char)path[i] >= 0x80 || path[i] < 0x20)
			return WD_EINVAL;
	}
	memset(buf, 0, total + 4);
	frame(buf, total, SMB2_TREE_CONNECT, message_id, session_id);
	b = buf + 4 + SMB2_HDR_LEN;
	put16(b, 9);
	put16(b + 4, SMB2_HDR_LEN + 8);
	put16(b + 6, (uint16_t)(2 * n));
	for (i = 0; i < n; i++)
		put16(b + 8 + 2 * i, (uint8_t)path[i]);
	return (int)(total + 4);
}

int smb2_hdr_pull(const uint8_t *msg, size_t len, struct smb2_hdr *out)
{
	memset(out, 0, sizeof(*out));
	if (len < SMB2_HDR_LEN)
		return WD_ESHORT;
	if (memcmp(msg, "\xfeSMB", 4) != 0 || get16(msg + 4) != SMB2_HDR_LEN)
		return WD_EPROTO;
	out->flags = get32(msg + 16);
	if (!(out->flags & 1)) /* SMB2_FLAGS_SERVER_TO_REDIR */
		return WD_EPROTO;
	if (out->flags & 2) /* async: not expected for these commands */
		return WD_EPROTO;
	out->status = get32(msg + 8);
	out->command = get16(msg + 12);
	out->message_id = get64(msg + 24);
	out->tree_id = get32(msg + 36);
	out->session_id = get64(msg + 40);
	return 0;
}

/* The header, the command, and the body's fixed part (StructureSize checked, [MS-SMB2] 2.2). */
static int body(const uint8_t *msg, size_t len, struct smb2_hdr *h, uint16_t cmd, size_t fixed,
                uint16_t structure_size, bool more_ok, const uint8_t **b)
{
	int rc = smb2_hdr_pull(msg, len, h);

	if (rc != 0)
		return rc;
	if (h->command != cmd)
		return WD_EPROTO;
	if (h->status != SMB2_STATUS_OK &&
	    !(more_ok && h->status == SMB2_STATUS_MORE_PROCESSING_REQUIRED))
		return 0; /* an error response: the caller reads h->status */
	if (len < SMB2_HDR_LEN + fixed)
		return WD_ESHORT;
	*b = msg + SMB2_HDR_LEN;
	if (get16(*b) != structure_size)
		return WD_EPROTO;
	return 1;
}

/* A buffer given by an offset from the header's start and a length lies inside the message
 * and after the fixed part. */
static int buffer_in(size_t len, size_t fixed_end, uint32_t off, uint32_t blen)
{
	if (blen == 0)
		return 0;
	if (off < fixed_end || off > len || blen > len - off)
		return WD_EPROTO;
	return 0;
}

int smb2_negotiate_rsp_pull(const uint8_t *msg, size_t len, struct smb2_hdr *h,
                            struct smb2_negotiate_rsp *out)
{
	const uint8_t *b = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = body(msg, len, h, SMB2_NEGOTIATE, 64, 65, false, &b);
	if (rc <= 0)
		return rc;
	out->security_mode = get16(b + 2);
	out->dialect = get16(b + 4);
	out->capabilities = get32(b + 24);
	out->max_transact = get32(b + 28);
	out->max_read = get32(b + 32);
	out->max_write = get32(b + 36);
	if (out->dialect != 0x0202 && out->dialect != 0x0210 && out->dialect != 0x0300 &&
	    out->dialect != 0x0302 && out->dialect != 0x0311 && out->dialect != 0x02ff)
		return WD_EPROTO;
	return buffer_in(len, SMB2_HDR_LEN + 64, get16(b + 56), get16(b + 58));
}

int smb2_session_setup_rsp_pull(const uint8_t *msg, size_t len, struct smb2_hdr *h,
                                struct smb2_session_setup_rsp *out)
{
	const uint8_t *b = NULL;
	uint16_t off, blen;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = body(msg, len, h, SMB2_SESSION_SETUP, 8, 9, true, &b);
	if (rc <= 0)
		return rc;
	out->session_flags = get16(b + 2);
	off = get16(b + 4);
	blen = get16(b + 6);
	if ((rc = buffer_in(len, SMB2_HDR_LEN + 8, off, blen)) != 0)
		return rc;
	out->token = blen ? msg + off : NULL;
	out->token_len = blen;
	return 0;
}

int smb2_tree_connect_rsp_pull(const uint8_t *msg, size_t len, struct smb2_hdr *h,
                               struct smb2_tree_connect_rsp *out)
{
	const uint8_t *b = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = body(msg, len, h, SMB2_TREE_CONNECT, 16, 16, false, &b);
	if (rc <= 0)
		return rc;
	out->share_type = b[2];
	out->share_flags = get32(b + 4);
	out->capabilities = get32(b + 8);
	out->maximal_access = get32(b + 12);
	if (out->share_type < 1 || out->share_type > 3)
		return WD_EPROTO;
	return 0;
}

const char *smb2_dialect_name(uint16_t d)
{
	switch (d) {
	case 0x0202:
		return "2.0.2";
	case 0x0210:
		return "2.1";
	case 0x0300:
		return "3.0";
	case 0x0302:
		return "3.0.2";
	case 0x0311:
		return "3.1.1";
	case 0x02ff:
		return "2.??";
	default:
		return "unknown";
	}
}
