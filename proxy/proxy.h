/* proxy/proxy.h: the validating reverse proxy (`driftgate run`).
 *
 * dg_proxy_run starts the workers (one event loop and one SO_REUSEPORT
 * listener per proxy address each), the admin listener and the signal
 * handlers on the calling thread, and returns when the proxy has stopped
 * (SIGTERM/SIGINT: stop accepting, let in-flight exchanges finish within
 * drain_timeout, close). SIGHUP reloads: a new config is loaded and its
 * specs compiled on a separate thread, then published atomically; a config
 * that fails to load or compile is rejected, logged and counted, and the
 * old one keeps serving. SIGUSR1 reopens the log and anomaly files.
 * The proxy does not parse JSON or judge schemas itself: validate/ does. */
#ifndef DG_PROXY_PROXY_H
#define DG_PROXY_PROXY_H

#include "policies/policies.h"

/* Produces a config: at start and on every reload (re-reading the file, or
 * rebuilding a quick-start config). Runs on a reload thread: may block. */
typedef int (*dg_config_loader)(void *ctx, dg_config **out, dg_error *errs, size_t max_errs,
                                size_t *n_errs);

typedef struct dg_proxy_opts {
    dg_config_loader load;
    void *load_ctx;
    const char *source;          /* for /status and logs: the config path or "quick start" */
} dg_proxy_opts;

/* Runs until stopped. Takes ownership of cfg. Returns 0 after a clean stop,
 * a negative DG_E* when start-up failed (the reason has been printed / logged). */
int dg_proxy_run(dg_config *cfg, const dg_proxy_opts *opts);

#endif
