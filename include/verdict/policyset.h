/*
 * verdict: the active policies, compiled once and held in memory for many threads (issue #7).
 *
 * A policy set reads the active version of every policy from the store, compiles each once,
 * and hands out references. Activating a new version swaps the entry atomically: an appraisal
 * in flight keeps the version it started with until it releases its reference. A change made by
 * another process on the same database (a `verdict policy import`) is noticed by
 * vd_policyset_refresh (PRAGMA data_version), which the server calls about once a second and
 * which vd_policyset_get also runs when the last check is older than a second.
 */
#ifndef verdict__policyset_h
#define verdict__policyset_h

#include "verdict/error.h"
#include "verdict/policy.h"

typedef struct vd_policyset vd_policyset_t;

/* One compiled, active policy version; immutable while referenced. */
typedef struct vd_policy_ref {
    const vd_policy_t *policy;
    const char *name;
    int version;
} vd_policy_ref_t;

/** Open a set over the store at `db_path` (opened read-only when it cannot be written). */
vd_err_t vd_policyset_open(const char *db_path, vd_policyset_t **out, vd_error_t *err)
    __attribute__((warn_unused_result));
void vd_policyset_free(vd_policyset_t **pp);

/**
 * A reference to the active version of `name`; release it with vd_policyset_release.
 * VD_E_CONFIG (message names the policy) when there is none.
 */
vd_err_t vd_policyset_get(vd_policyset_t *s, const char *name, const vd_policy_ref_t **out,
                          vd_error_t *err) __attribute__((warn_unused_result));
void vd_policyset_release(vd_policyset_t *s, const vd_policy_ref_t **ref);

/**
 * The store the set reads (borrowed; thread-safe, see policy_store.h), for callers that also
 * write policies (the service's policy routes). Writes through it, like those of any other
 * connection or process, are seen by the next refresh.
 */
struct vd_pstore *vd_policyset_store(vd_policyset_t *s);

/** Reload what changed in the store since the last call. Thread-safe. */
vd_err_t vd_policyset_refresh(vd_policyset_t *s, vd_error_t *err)
    __attribute__((warn_unused_result));

#endif
