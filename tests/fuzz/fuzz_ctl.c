/*
 * fuzz_ctl.c - libFuzzer target for the admin protocol: any request line is
 * parsed (ctl_request_parse) and, if it is a request, dispatched through the
 * real command table (ctl_admin_handle) against a static cluster and a
 * witness service with no registrations; the reply must be a JSON object
 * with a boolean "ok", and the text printer must cope with whatever came back.
 * Short inputs are also tried as a raw regex selector, so the fuzzer searches
 * for patterns that pass the selector bounds (include/witness/wit.h) and
 * still blow up glibc's regcomp(): such a pattern shows as an out-of-memory
 * or a timeout (as `1++++++++++++++++++++++` did before the bounds).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "witness/cluster.h"
#include "witness/ctl.h"
#include "witness/log.h"
#include "witness/wit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uv_loop_t loop;
static cluster_t *cl;
static wit_service_t *ws;
static struct ctl_admin adm;
static FILE *devnull;

static void setup(void)
{
	struct cluster_view *v;
	struct wit_config wc = {.netname = "WITSRV",
	                        .min_auth_level = 1,
	                        .unused_timeout_ms = 30000,
	                        .reregister_delay_ms = 5000,
	                        .max_registrations = 100,
	                        .max_registrations_per_client = 10};

	wd_log_set_level(WD_LOG_ERR);
	uv_loop_init(&loop);
	v = cluster_view_new(0);
	cluster_view_add(v, "10.0.0.1", 0, CLUSTER_NODE_NONE, true);
	cluster_view_add(v, "10.0.0.2", 1, CLUSTER_NODE_NONE, true);
	cluster_view_add(v, "fd00::1", 2, CLUSTER_NODE_NONE, true);
	if (cluster_static_new(&loop, v, &cl) != 0 ||
	    wit_service_new(&loop, &wc, cl, NULL, &ws) != 0)
		abort();
	cluster_view_free(v);
	adm.wit = ws;
	adm.cluster = cl;
	devnull = fopen("/dev/null", "w");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *req = NULL, *rep;
	char err[256];

	if (cl == NULL)
		setup();
	if (size <= WIT_SELECTOR_MAX_LEN + 8 && memchr(data, '\0', size) == NULL) {
		char re[WIT_SELECTOR_MAX_LEN + 9];
		cJSON *f;

		memcpy(re, data, size);
		re[size] = '\0';
		req = cJSON_CreateObject();
		cJSON_AddStringToObject(req, "cmd", "list");
		f = cJSON_AddObjectToObject(req, "filters");
		cJSON_AddStringToObject(f, "ip_address", re);
		rep = ctl_admin_handle(&adm, req, NULL);
		if (rep == NULL || !cJSON_IsBool(cJSON_GetObjectItem(rep, "ok")))
			abort();
		cJSON_Delete(rep);
		cJSON_Delete(req);
		req = NULL;
	}
	if (ctl_request_parse((const char *)data, size, &req, err, sizeof(err)) != 0) {
		if (req != NULL || err[0] == '\0')
			abort();
		return 0;
	}
	rep = ctl_admin_handle(&adm, req, NULL);
	if (rep == NULL || !cJSON_IsBool(cJSON_GetObjectItem(rep, "ok")))
		abort();
	ctl_print_registrations(devnull, cJSON_GetObjectItem(rep, "result"));
	ctl_print_registrations(devnull, req);
	cJSON_Delete(rep);
	cJSON_Delete(req);
	/* run the timers and events the request may have started */
	uv_run(&loop, UV_RUN_NOWAIT);
	return 0;
}
