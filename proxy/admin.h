/* proxy/admin.h: the admin listener (localhost by default): /metrics
 * (Prometheus text format), /healthz (the process answers), /readyz
 * (config compiled, listeners up, not draining), /status (JSON: APIs, spec
 * hashes, counters, config version). Runs on the main thread's event loop
 * with libevent's evhttp: admin traffic is small and not on the hot path. */
#ifndef DG_PROXY_ADMIN_H
#define DG_PROXY_ADMIN_H

#include <event2/event.h>
#include <stddef.h>

typedef struct dg_admin dg_admin;

/* Binds addr ("127.0.0.1:9090"). 0, or DG_EIO with why filled. */
int dg_admin_start(struct event_base *base, const char *addr, const char *source,
                   dg_admin **out, char *why, size_t why_len);
void dg_admin_set_ready(dg_admin *a, int ready);
void dg_admin_free(dg_admin *a);

#endif
