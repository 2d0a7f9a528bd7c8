/*
 * ndr_witness.h - NDR32 of the MS-SWN interface (idl/witness.idl), byte-exact
 * with Samba's NDR (python3-samba samba.ndr is the test oracle).
 * Opnums 0-5 ([MS-SWN] 3.1.4), requests (_in) and responses (_out), each with
 * push and pull so tests can round-trip both directions.
 *
 * Strings are UTF-8 in C, UTF-16 on the wire; a NULL char* is a NULL unique
 * pointer. Pulled strings are malloc'd; free a pulled struct with its _free.
 */
#ifndef WITNESS_NDR_WITNESS_H
#define WITNESS_NDR_WITNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "witness/dcerpc.h"
#include "witness/ndr.h"

#define WITNESS_UUID "ccd8c074-d0e5-4a40-92b4-d074faa6ba28"
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

#define WITNESS_V1 0x00010001u
#define WITNESS_V2 0x00020000u
#define WITNESS_UNSPECIFIED_VERSION 0xFFFFFFFFu

/* WITNESS_INTERFACE_INFO.State */
enum { WITNESS_STATE_UNKNOWN = 0x0000, WITNESS_STATE_AVAILABLE = 0x0001,
       WITNESS_STATE_UNAVAILABLE = 0x00ff };
/* WITNESS_INTERFACE_INFO.Flags */
enum { WITNESS_INFO_IPV4_VALID = 0x1, WITNESS_INFO_IPV6_VALID = 0x2,
       WITNESS_INFO_WITNESS_IF = 0x4 };
/* RegisterEx Flags */
enum { WITNESS_REGISTER_NONE = 0x0, WITNESS_REGISTER_IP_NOTIFICATION = 0x1 };
/* RESP_ASYNC_NOTIFY.MessageType */
enum { WITNESS_NOTIFY_RESOURCE_CHANGE = 1, WITNESS_NOTIFY_CLIENT_MOVE = 2,
       WITNESS_NOTIFY_SHARE_MOVE = 3, WITNESS_NOTIFY_IP_CHANGE = 4 };
/* RESOURCE_CHANGE.ChangeType */
enum { WITNESS_RESOURCE_STATE_UNKNOWN = 0x00, WITNESS_RESOURCE_STATE_AVAILABLE = 0x01,
       WITNESS_RESOURCE_STATE_UNAVAILABLE = 0xff };
/* IPADDR_INFO.Flags */
enum { WITNESS_IPADDR_V4 = 0x01, WITNESS_IPADDR_V6 = 0x02, WITNESS_IPADDR_ONLINE = 0x08,
       WITNESS_IPADDR_OFFLINE = 0x10 };

/* Win32 error codes the witness returns ([MS-SWN] 3.1.4, notes swn.md 1.3) */
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
/* list->interfaces malloc'd; *list_present false for a NULL pointer. */
int ndr_witness_get_interface_list_out_pull(struct ndr_pull *p,
					    struct witness_interface_list *list,
					    bool *list_present, uint32_t *result);

/* opnum 1 and 4 (Register is RegisterEx without share, flags and timeout) */
struct witness_register_in {
	uint32_t version;
	char *net_name;             /* NULL = NULL pointer */
	char *share_name;           /* RegisterEx only */
	char *ip_address;
	char *client_computer_name;
	uint32_t flags;             /* RegisterEx only */
	uint32_t timeout;           /* RegisterEx only, seconds */
};
void witness_register_in_free(struct witness_register_in *r);
int ndr_witness_register_in_push(struct ndr_push *p, const struct witness_register_in *r);
int ndr_witness_register_in_pull(struct ndr_pull *p, struct witness_register_in *r);
int ndr_witness_register_ex_in_push(struct ndr_push *p, const struct witness_register_in *r);
int ndr_witness_register_ex_in_pull(struct ndr_pull *p, struct witness_register_in *r);
/* Register / RegisterEx / UnRegisterEx responses: handle + result */
int ndr_witness_handle_out_push(struct ndr_push *p, const struct dcerpc_wire_handle *h,
				uint32_t result);
int ndr_witness_handle_out_pull(struct ndr_pull *p, struct dcerpc_wire_handle *h,
				uint32_t *result);

/* opnum 2, 3 and 5 requests are a single context handle */
int ndr_witness_handle_in_push(struct ndr_push *p, const struct dcerpc_wire_handle *h);
int ndr_witness_handle_in_pull(struct ndr_pull *p, struct dcerpc_wire_handle *h);
/* opnum 2 response: result only */
int ndr_witness_result_out_push(struct ndr_push *p, uint32_t result);
int ndr_witness_result_out_pull(struct ndr_pull *p, uint32_t *result);

/* opnum 3 response */
struct witness_notify_response {
	uint32_t type;       /* WITNESS_NOTIFY_* */
	uint32_t num;        /* NumberOfMessages */
	uint32_t length;     /* bytes in buffer */
	uint8_t *buffer;     /* message buffer (little-endian, not NDR) */
};
void witness_notify_response_free(struct witness_notify_response *r);
int ndr_witness_async_notify_out_push(struct ndr_push *p,
				      const struct witness_notify_response *resp, /* NULL ok */
				      uint32_t result);
int ndr_witness_async_notify_out_pull(struct ndr_pull *p, struct witness_notify_response *resp,
				      bool *resp_present, uint32_t *result);

/* Message buffer contents ([MS-SWN] 2.2.2.1-2.2.2.4), appended to resp. */
int witness_msg_add_resource_change(struct witness_notify_response *resp,
				    uint32_t change_type, const char *name);
struct witness_ipaddr_info {
	uint32_t flags;
	uint8_t ipv4[4];
	uint8_t ipv6[16];
};
/* One IPADDR_INFO_LIST (type 2, 3, 4 carry exactly one). */
int witness_msg_add_ipaddr_list(struct witness_notify_response *resp,
				const struct witness_ipaddr_info *addrs, uint32_t n);

/* Parsed form of a message buffer, for tests and witnessctl. */
struct witness_resource_change {
	uint32_t change_type;
	char *name;
};
int witness_msg_parse_resource_changes(const struct witness_notify_response *resp,
				       struct witness_resource_change **out, uint32_t *n);
int witness_msg_parse_ipaddr_list(const struct witness_notify_response *resp,
				  struct witness_ipaddr_info **out, uint32_t *n);

#endif
