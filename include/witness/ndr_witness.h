/*
 * ndr_witness.h - NDR and NDR64 of the MS-SWN interface (idl/witness.idl),
 * byte-exact with Samba's NDR (python3-samba samba.ndr is the test oracle,
 * with ndr64=True for NDR64). The transfer syntax is the flag of the
 * ndr_push / ndr_pull (NDR_FLAG_NDR64); one encoder serves both.
 * Opnums 0-5 ([MS-SWN] 3.1.4), requests (_in) and responses (_out), each with
 * push and pull so tests can round-trip both directions.
 *
 * Strings are UTF-8 in C, UTF-16 on the wire; a NULL char* is a NULL unique
 * pointer. Pulled strings are malloc'd; free a pulled struct with its _free.
 *
 * Every push returns ndr_push_finish(p) (0 or the sticky WD_E*). Every pull
 * consumes exactly its structure and leaves p->off after it: trailing bytes
 * are NOT an error here (a request may carry a verification trailer,
 * [MS-RPCE] 2.2.2.13; the caller decides). Pull outputs are set only on
 * success; on failure nothing is allocated. Errors: WD_ESHORT truncated,
 * WD_EPROTO malformed (bad string, size_is mismatch), WD_ERANGE over a bound.
 * Unique pointers get Samba's referent ids (0x00020000, +4 per non-NULL
 * pointer) from the ndr_push, so push each stub with a fresh ndr_push.
 */
#ifndef WITNESS_NDR_WITNESS_H
#define WITNESS_NDR_WITNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "witness/ndr.h"

#define WITNESS_UUID       "ccd8c074-d0e5-4a40-92b4-d074faa6ba28"
#define WITNESS_VERS_MAJOR 1
#define WITNESS_VERS_MINOR 1

enum {
	WITNESS_OP_GET_INTERFACE_LIST = 0,
	WITNESS_OP_REGISTER = 1,
	WITNESS_OP_UNREGISTER = 2,
	WITNESS_OP_ASYNC_NOTIFY = 3,
	WITNESS_OP_REGISTER_EX = 4,
	WITNESS_OP_UNREGISTER_EX = 5,
	WITNESS_NUM_OPS = 6,
};

#define WITNESS_V1                  0x00010001u
#define WITNESS_V2                  0x00020000u
#define WITNESS_UNSPECIFIED_VERSION 0xFFFFFFFFu

/* WITNESS_INTERFACE_INFO.State */
enum {
	WITNESS_STATE_UNKNOWN = 0x0000,
	WITNESS_STATE_AVAILABLE = 0x0001,
	WITNESS_STATE_UNAVAILABLE = 0x00ff
};
/* WITNESS_INTERFACE_INFO.Flags */
enum {
	WITNESS_INFO_IPV4_VALID = 0x1,
	WITNESS_INFO_IPV6_VALID = 0x2,
	WITNESS_INFO_WITNESS_IF = 0x4
};
/* RegisterEx Flags */
enum { WITNESS_REGISTER_NONE = 0x0, WITNESS_REGISTER_IP_NOTIFICATION = 0x1 };
/* RESP_ASYNC_NOTIFY.MessageType */
enum {
	WITNESS_NOTIFY_RESOURCE_CHANGE = 1,
	WITNESS_NOTIFY_CLIENT_MOVE = 2,
	WITNESS_NOTIFY_SHARE_MOVE = 3,
	WITNESS_NOTIFY_IP_CHANGE = 4
};
/* RESOURCE_CHANGE.ChangeType */
enum {
	WITNESS_RESOURCE_STATE_UNKNOWN = 0x00,
	WITNESS_RESOURCE_STATE_AVAILABLE = 0x01,
	WITNESS_RESOURCE_STATE_UNAVAILABLE = 0xff
};
/* IPADDR_INFO.Flags */
enum {
	WITNESS_IPADDR_V4 = 0x01,
	WITNESS_IPADDR_V6 = 0x02,
	WITNESS_IPADDR_ONLINE = 0x08,
	WITNESS_IPADDR_OFFLINE = 0x10
};

/* Win32 error codes the witness returns ([MS-SWN] 3.1.4, Samba srv_witness_nt.c) */
enum {
	WERR_OK = 0x0,
	WERR_ACCESS_DENIED = 0x5,
	WERR_NOT_ENOUGH_MEMORY = 0x8,
	WERR_INVALID_PARAMETER = 0x57,
	WERR_NO_MORE_ITEMS = 0x103,
	WERR_NOT_FOUND = 0x490,
	WERR_NOT_AUTHENTICATED = 0x4dc,
	WERR_REVISION_MISMATCH = 0x51a,
	WERR_NO_SYSTEM_RESOURCES = 0x5aa,
	WERR_TIMEOUT = 0x5b4,
	WERR_INVALID_STATE = 0x139f,
};

#define WITNESS_GROUP_NAME_CHARS 260 /* WCHAR[260] incl. NUL */

struct witness_interface_info {
	char group_name[WITNESS_GROUP_NAME_CHARS * 3]; /* UTF-8; <260 UTF-16 units */
	uint32_t version;
	uint16_t state;
	uint8_t ipv4[4];  /* network order */
	uint8_t ipv6[16]; /* network order */
	uint32_t flags;
};

struct witness_interface_list {
	uint32_t num;
	struct witness_interface_info *interfaces; /* num entries */
};

/* opnum 0 */
int ndr_witness_get_interface_list_out_push(struct ndr_push *p,
                                            const struct witness_interface_list *list, /* NULL ok */
                                            uint32_t result);
/*
 * list->interfaces malloc'd (free with witness_interface_list_free);
 * *list_present false for a NULL pointer. On push, interfaces == NULL (num
 * must be 0) is a NULL array pointer; a non-NULL pointer with num 0 is an
 * empty array (what Samba sends). Pull keeps that distinction (a present
 * empty array gives a non-NULL interfaces). group_name must encode to at most
 * 259 UTF-16 units (WD_ERANGE), it is zero-filled to 520 bytes on the wire.
 */
int ndr_witness_get_interface_list_out_pull(struct ndr_pull *p, struct witness_interface_list *list,
                                            bool *list_present, uint32_t *result);
void witness_interface_list_free(struct witness_interface_list *list);

/* opnum 1 and 4 (Register is RegisterEx without share, flags and timeout) */
struct witness_register_in {
	uint32_t version;
	char *net_name;   /* NULL = NULL pointer */
	char *share_name; /* RegisterEx only */
	char *ip_address;
	char *client_computer_name;
	uint32_t flags;   /* RegisterEx only */
	uint32_t timeout; /* RegisterEx only, seconds */
};
void witness_register_in_free(struct witness_register_in *r);
int ndr_witness_register_in_push(struct ndr_push *p, const struct witness_register_in *r);
int ndr_witness_register_in_pull(struct ndr_pull *p, struct witness_register_in *r);
int ndr_witness_register_ex_in_push(struct ndr_push *p, const struct witness_register_in *r);
int ndr_witness_register_ex_in_pull(struct ndr_pull *p, struct witness_register_in *r);
/* Register / RegisterEx / UnRegisterEx responses: handle + result */
int ndr_witness_handle_out_push(struct ndr_push *p, const struct ndr_policy_handle *h,
                                uint32_t result);
int ndr_witness_handle_out_pull(struct ndr_pull *p, struct ndr_policy_handle *h, uint32_t *result);

/* opnum 2, 3 and 5 requests are a single context handle */
int ndr_witness_handle_in_push(struct ndr_push *p, const struct ndr_policy_handle *h);
int ndr_witness_handle_in_pull(struct ndr_pull *p, struct ndr_policy_handle *h);
/* opnum 2 response: result only */
int ndr_witness_result_out_push(struct ndr_push *p, uint32_t result);
int ndr_witness_result_out_pull(struct ndr_pull *p, uint32_t *result);

/*
 * opnum 3 response. resp == NULL pushes the NULL *pResp pointer of an error
 * response (4 zero bytes + result, as Samba does on timeout / not found).
 * buffer == NULL pushes a NULL MessageBuffer pointer; buffer != NULL with
 * length 0 an empty array. Pull copies the buffer (malloc'd, non-NULL when
 * the pointer was present; free with witness_notify_response_free).
 */
struct witness_notify_response {
	uint32_t type;   /* WITNESS_NOTIFY_* */
	uint32_t num;    /* NumberOfMessages */
	uint32_t length; /* bytes in buffer */
	uint8_t *buffer; /* message buffer (little-endian, not NDR) */
};
void witness_notify_response_free(struct witness_notify_response *r);
int ndr_witness_async_notify_out_push(struct ndr_push *p,
                                      const struct witness_notify_response *resp, /* NULL ok */
                                      uint32_t result);
int ndr_witness_async_notify_out_pull(struct ndr_pull *p, struct witness_notify_response *resp,
                                      bool *resp_present, uint32_t *result);

/*
 * Message buffer contents ([MS-SWN] 2.2.2.1-2.2.2.4), appended to resp
 * (start from a zeroed struct; free with witness_notify_response_free).
 * add_resource_change sets resp->type = RESOURCE_CHANGE if it is 0, else it
 * must already be RESOURCE_CHANGE (WD_EINVAL); num and length grow per entry.
 * add_ipaddr_list needs resp->type set to CLIENT_MOVE, SHARE_MOVE or
 * IP_CHANGE first (WD_EINVAL) and a response without messages (WD_EEXIST);
 * it sets num = 1. The buffer is capped at NDR_MAX_ARRAY bytes (WD_ELIMIT).
 */
int witness_msg_add_resource_change(struct witness_notify_response *resp, uint32_t change_type,
                                    const char *name);
struct witness_ipaddr_info {
	uint32_t flags;
	uint8_t ipv4[4];
	uint8_t ipv6[16];
};
/* One IPADDR_INFO_LIST (type 2, 3, 4 carry exactly one). */
int witness_msg_add_ipaddr_list(struct witness_notify_response *resp,
                                const struct witness_ipaddr_info *addrs, uint32_t n);

/*
 * Parsed form of a message buffer, for tests and witnessctl. *out is
 * malloc'd (non-NULL on success, also for 0 entries); free resource changes
 * with witness_resource_changes_free, ipaddr infos with free(). WD_EINVAL for
 * the wrong resp->type, WD_EPROTO for a malformed buffer. Resource changes
 * are walked by each entry's Length; the entries must cover the buffer. An
 * IPADDR_INFO_LIST must fill the buffer exactly (num must be 1).
 */
struct witness_resource_change {
	uint32_t change_type;
	char *name;
};
int witness_msg_parse_resource_changes(const struct witness_notify_response *resp,
                                       struct witness_resource_change **out, uint32_t *n);
void witness_resource_changes_free(struct witness_resource_change *changes, uint32_t n);
int witness_msg_parse_ipaddr_list(const struct witness_notify_response *resp,
                                  struct witness_ipaddr_info **out, uint32_t *n);

/*
 * Stub kinds: one per distinct request/response layout, for code that
 * handles stubs generically (the fuzz target, tests/bench/bench_ndr, the
 * oracle test). Names match tests/vectors/witness_ndr.txt.
 */
enum witness_stub_kind {
	WITNESS_STUB_REGISTER_IN,            /* opnum 1 request */
	WITNESS_STUB_REGISTER_EX_IN,         /* opnum 4 request */
	WITNESS_STUB_HANDLE_IN,              /* opnum 2, 3, 5 requests */
	WITNESS_STUB_HANDLE_OUT,             /* opnum 1, 4, 5 responses */
	WITNESS_STUB_RESULT_OUT,             /* opnum 2 response */
	WITNESS_STUB_GET_INTERFACE_LIST_OUT, /* opnum 0 response (its request is empty) */
	WITNESS_STUB_ASYNC_NOTIFY_OUT,       /* opnum 3 response */
	WITNESS_STUB_NUM_KINDS,
};
/* Static name, NULL for an unknown kind. */
const char *witness_stub_kind_name(int kind);
/* Kind for a name, -1 if unknown. */
int witness_stub_kind_from_name(const char *name);
/* Kind of an opnum's request or response; -1 (opnum 0 request: empty stub, bad opnum). */
int witness_stub_kind_for(int opnum, bool response);
/*
 * Pulls one stub of the given kind from in[0..len) and pushes the decoded
 * values again into out (a fresh ndr_push, owned by the caller). Returns the
 * pull or push error; *consumed (may be NULL) = bytes the pull used.
 */
int ndr_witness_stub_repush(int kind, const uint8_t *in, size_t len, struct ndr_push *out,
                            size_t *consumed);
/* The same, pulling with flags (NDR_FLAG_NDR64); out keeps its own flags. */
int ndr_witness_stub_repush_flags(int kind, const uint8_t *in, size_t len, uint32_t flags,
                                  struct ndr_push *out, size_t *consumed);

#endif
