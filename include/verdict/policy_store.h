/*
 * verdict: the versioned policy store (SQLite, see db.h).
 *
 * Every import of a policy name that changes its text makes a new version and activates it;
 * older versions stay for history and rollback. Importing the same text again changes nothing,
 * so a GitOps sync can re-import a whole directory on every run. Writes are transactions
 * (BEGIN IMMEDIATE); readers on other connections see either the old or the new state.
 * Sources are validated (compiled) before they are stored: the store never holds a policy
 * that does not compile.
 *
 * A vd_pstore_t is one connection with its own lock: every function may be called from any
 * thread. A writer that finds the database locked by another process waits (busy timeout)
 * instead of failing, and a write is reported done only once its COMMIT succeeded.
 */
#ifndef verdict__policy_store_h
#define verdict__policy_store_h

#include <stddef.h>
#include <stdint.h>

#include "verdict/error.h"
#include "verdict/policy.h"

typedef struct vd_pstore vd_pstore_t;

#define VD_PSTORE_BUSY_MS 10000 /* how long a writer waits for another one */

/**
 * Open (creating if needed, schema migrated) the store at `path`. With `read_only`, or when
 * the file cannot be written, it is opened read-only: reads work, writes fail with
 * VD_E_STORE. Close with vd_pstore_close.
 */
vd_err_t vd_pstore_open(const char *path, int read_only, vd_pstore_t **out, vd_error_t *err)
    __attribute__((warn_unused_result));
void vd_pstore_close(vd_pstore_t **pp);

/** 1 if the store was opened read-only. */
int vd_pstore_read_only(const vd_pstore_t *s);

/**
 * A stamp that changes whenever a write was committed, by this handle or by any other
 * connection or process (PRAGMA data_version plus this handle's own commits).
 */
vd_err_t vd_pstore_stamp(vd_pstore_t *s, uint64_t *stamp, vd_error_t *err)
    __attribute__((warn_unused_result));

typedef struct vd_pstore_version {
    char name[VD_POLICY_NAME_MAX];
    int version;
    int active;         /* 1 if this version is the active one */
    int64_t created_at; /* Unix time */
    char sha256[65];    /* of the source text */
    char origin[256];   /* where it was imported from (file path, "api") */
} vd_pstore_version_t;

/**
 * Store `source` (YAML) under the name it declares, as a new active version unless the active
 * version already has this exact text. *version receives the active version afterwards and
 * *created whether a new one was made. VD_E_MALFORMED (compiler message) if it does not
 * compile; VD_E_STORE on database errors.
 */
vd_err_t vd_pstore_put(vd_pstore_t *s, const char *source, size_t len, const char *origin,
                       char name[VD_POLICY_NAME_MAX], int *version, int *created, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * BEGIN IMMEDIATE / COMMIT / ROLLBACK around several puts (a directory import: all or nothing).
 * A put outside such a transaction is atomic on its own. Between begin and commit or rollback
 * the calling thread holds the store: other threads' calls wait. A failed commit rolls back
 * (nothing of the transaction is stored) and returns VD_E_STORE.
 */
vd_err_t vd_pstore_begin(vd_pstore_t *s, vd_error_t *err) __attribute__((warn_unused_result));
vd_err_t vd_pstore_commit(vd_pstore_t *s, vd_error_t *err) __attribute__((warn_unused_result));
void vd_pstore_rollback(vd_pstore_t *s);

/**
 * Source text of `name` at `version` (0 = the active one) into a malloc'd NUL-terminated buffer
 * (caller frees) and its metadata. VD_E_CONFIG if there is no such policy or version.
 */
vd_err_t vd_pstore_get(vd_pstore_t *s, const char *name, int version, char **source,
                       vd_pstore_version_t *info, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * The active version of `name`, compiled; *version (may be NULL) gets its number.
 * VD_E_CONFIG if there is none.
 */
vd_err_t vd_pstore_load(vd_pstore_t *s, const char *name, vd_policy_t **out, int *version,
                        vd_error_t *err) __attribute__((warn_unused_result));

/** Called once per row by list/history; return non-zero to stop. */
typedef int (*vd_pstore_cb)(const vd_pstore_version_t *v, void *ctx);

/** Every active policy (its active version), by name. The callback must not call the store. */
vd_err_t vd_pstore_list(vd_pstore_t *s, vd_pstore_cb cb, void *ctx, vd_error_t *err)
    __attribute__((warn_unused_result));

/** Every version of `name`, oldest first (also after a delete). VD_E_CONFIG if none. */
vd_err_t vd_pstore_history(vd_pstore_t *s, const char *name, vd_pstore_cb cb, void *ctx,
                           vd_error_t *err) __attribute__((warn_unused_result));

/** Make `version` of `name` the active one (a rollback or roll forward). VD_E_CONFIG if absent. */
vd_err_t vd_pstore_activate(vd_pstore_t *s, const char *name, int version, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * Deactivate `name`: it is no longer listed or usable; its versions stay in the history and a
 * later import or activate brings it back. VD_E_CONFIG if it is not active.
 */
vd_err_t vd_pstore_delete(vd_pstore_t *s, const char *name, vd_error_t *err)
    __attribute__((warn_unused_result));

#endif
