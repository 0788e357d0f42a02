/*
 * verdict: the versioned policy store (SQLite, see db.h).
 *
 * Every import of a policy name that changes its text makes a new version and activates it;
 * older versions stay for history and rollback. Importing the same text again changes nothing,
 * so a GitOps sync can re-import a whole directory on every run. Writes are transactions
 * (BEGIN IMMEDIATE); readers on other connections see either the old or the new state.
 * Sources are validated (compiled) before they are stored: the store never holds a policy
 * that does not compile.
 */
#ifndef verdict__policy_store_h
#define verdict__policy_store_h

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "verdict/error.h"
#include "verdict/policy.h"

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
vd_err_t vd_pstore_put(sqlite3 *db, const char *source, size_t len, const char *origin,
                       char name[VD_POLICY_NAME_MAX], int *version, int *created, vd_error_t *err);

/**
 * BEGIN IMMEDIATE / COMMIT / ROLLBACK around several puts (a directory import: all or nothing).
 * A put outside such a transaction is atomic on its own.
 */
vd_err_t vd_pstore_begin(sqlite3 *db, vd_error_t *err);
vd_err_t vd_pstore_commit(sqlite3 *db, vd_error_t *err);
void vd_pstore_rollback(sqlite3 *db);

/**
 * Source text of `name` at `version` (0 = the active one) into a malloc'd NUL-terminated buffer
 * (caller frees) and its metadata. VD_E_CONFIG if there is no such policy or version.
 */
vd_err_t vd_pstore_get(sqlite3 *db, const char *name, int version, char **source,
                       vd_pstore_version_t *info, vd_error_t *err);

/** The active version of `name`, compiled. VD_E_CONFIG if there is none. */
vd_err_t vd_pstore_load(sqlite3 *db, const char *name, vd_policy_t **out, vd_error_t *err);

/** Called once per row by list/history; return non-zero to stop. */
typedef int (*vd_pstore_cb)(const vd_pstore_version_t *v, void *ctx);

/** Every active policy (its active version), by name. */
vd_err_t vd_pstore_list(sqlite3 *db, vd_pstore_cb cb, void *ctx, vd_error_t *err);

/** Every version of `name`, oldest first (also after a delete). VD_E_CONFIG if none. */
vd_err_t vd_pstore_history(sqlite3 *db, const char *name, vd_pstore_cb cb, void *ctx,
                           vd_error_t *err);

/** Make `version` of `name` the active one (a rollback or roll forward). VD_E_CONFIG if absent. */
vd_err_t vd_pstore_activate(sqlite3 *db, const char *name, int version, vd_error_t *err);

/**
 * Deactivate `name`: it is no longer listed or usable; its versions stay in the history and a
 * later import or activate brings it back. VD_E_CONFIG if it is not active.
 */
vd_err_t vd_pstore_delete(sqlite3 *db, const char *name, vd_error_t *err);

#endif
