/*
 * smb2.h - the few SMB2 messages `witnessctl doctor` sends to the SMB server
 * beside witnessd ([MS-SMB2] 2.2): NEGOTIATE, SESSION_SETUP and TREE_CONNECT
 * requests, and the parsers of their responses. Pure: no I/O; every pull
 * takes one whole message (after the 4-byte Direct TCP transport header,
 * [MS-SMB2] 2.1) and refuses short or inconsistent input.
 */
#ifndef WITNESS_SMB2_H
#define WITNESS_SMB2_H

#include <stddef.h>
#include <stdint.h>

#define SMB2_HDR_LEN 64
#define SMB2_MAX_MSG 65536 /* larger replies are refused by the client */

enum smb2_command { SMB2_NEGOTIATE = 0, SMB2_SESSION_SETUP = 1, SMB2_TREE_CONNECT = 3 };

/* [MS-SMB2] 2.2.3 Capabilities */
#define SMB2_GLOBAL_CAP_DFS                0x01u
#define SMB2_GLOBAL_CAP_LEASING            0x02u
#define SMB2_GLOBAL_CAP_LARGE_MTU          0x04u
#define SMB2_GLOBAL_CAP_MULTI_CHANNEL      0x08u
#define SMB2_GLOBAL_CAP_PERSISTENT_HANDLES 0x10u
#define SMB2_GLOBAL_CAP_DIRECTORY_LEASING  0x20u
#define SMB2_GLOBAL_CAP_ENCRYPTION         0x40u
/* [MS-SMB2] 2.2.10 share Capabilities */
#define SMB2_SHARE_CAP_DFS                     0x08u
#define SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY 0x10u
#define SMB2_SHARE_CAP_SCALEOUT                0x20u
#define SMB2_SHARE_CAP_CLUSTER                 0x40u
#define SMB2_SHARE_CAP_ASYMMETRIC              0x80u

#define SMB2_STATUS_OK                       0x00000000u
#define SMB2_STATUS_MORE_PROCESSING_REQUIRED 0xC0000016u

struct smb2_hdr {
	uint32_t status;
	uint16_t command;
	uint32_t flags;
	uint64_t message_id;
	uint32_t tree_id;
	uint64_t session_id;
};

struct smb2_negotiate_rsp {
	uint16_t security_mode;
	uint16_t dialect;
	uint32_t capabilities;
	uint32_t max_transact, max_read, max_write;
};

struct smb2_session_setup_rsp {
	uint16_t session_flags;
	const uint8_t *token; /* points into the message */
	size_t token_len;
};

struct smb2_tree_connect_rsp {
	uint8_t share_type; /* 1 disk, 2 pipe, 3 print */
	uint32_t share_flags;
	uint32_t capabilities;
	uint32_t maximal_access;
};

/*
 * Requests: each writes one message (with its 4-byte transport header) into
 * buf[0..cap) and returns its length, or WD_ERANGE if cap is too small or a
 * field too long. dialects: n of them ([MS-SMB2] 2.2.3); with 0x0311 a
 * PREAUTH_INTEGRITY context (SHA-512, salt) is added ([MS-SMB2] 2.2.3.1.1).
 */
int smb2_negotiate_req(uint8_t *buf, size_t cap, uint64_t message_id, const uint16_t *dialects,
                       size_t n, const uint8_t client_guid[16]);
int smb2_session_setup_req(uint8_t *buf, size_t cap, uint64_t message_id, uint64_t session_id,
                           const uint8_t *token, size_t token_len);
/* path: UTF-8 "\\server\share", converted to UTF-16LE (ASCII only: WD_EINVAL otherwise). */
int smb2_tree_connect_req(uint8_t *buf, size_t cap, uint64_t message_id, uint64_t session_id,
                          const char *path);

/*
 * Pulls: msg is one SMB2 message without the transport header. The header
 * is filled first; the body is parsed only when the status is success (or
 * MORE_PROCESSING_REQUIRED for a session setup). WD_EPROTO for anything
 * malformed, WD_ESHORT when it is cut short.
 */
int smb2_hdr_pull(const uint8_t *msg, size_t len, struct smb2_hdr *out);
int smb2_negotiate_rsp_pull(const uint8_t *msg, size_t len, struct smb2_hdr *h,
                            struct smb2_negotiate_rsp *out);
int smb2_session_setup_rsp_pull(const uint8_t *msg, size_t len, struct smb2_hdr *h,
                                struct smb2_session_setup_rsp *out);
int smb2_tree_connect_rsp_pull(const uint8_t *msg, size_t len, struct smb2_hdr *h,
                               struct smb2_tree_connect_rsp *out);

/* "3.1.1", "2.0.2", "2.??"... for a DialectRevision; static string. */
const char *smb2_dialect_name(uint16_t dialect);

#endif
