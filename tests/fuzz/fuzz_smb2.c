/*
 * fuzz_smb2.c - libFuzzer target for the SMB2 response parsers that
 * witnessctl doctor runs on what the SMB server sends (include/witness/smb2.h):
 * any input parses or is refused, never crashes; a session setup token lies
 * inside the input.
 */
#include <stdint.h>
#include <stdlib.h>

#include "witness/smb2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smb2_hdr h;
	struct smb2_negotiate_rsp n;
	struct smb2_session_setup_rsp s;
	struct smb2_tree_connect_rsp t;

	(void)smb2_hdr_pull(data, size, &h);
	(void)smb2_negotiate_rsp_pull(data, size, &h, &n);
	if (smb2_session_setup_rsp_pull(data, size, &h, &s) == 0 && s.token != NULL &&
	    (s.token < data || s.token + s.token_len > data + size))
		abort();
	(void)smb2_tree_connect_rsp_pull(data, size, &h, &t);
	(void)smb2_dialect_name(n.dialect);
	return 0;
}
