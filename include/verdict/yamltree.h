/*
 * A small, bounded YAML document tree built from libyaml events, with the line and column of
 * every node for error messages. Shared by the policy compiler (policies/) and the service
 * configuration (verifier/config/); library vd_yaml.
 *
 * Bounds (STYLE.md R7): anchors and aliases are rejected, tags other than the core schema's
 * are rejected, and the document size, node count and nesting depth are capped, so a hostile
 * file cannot make the parser allocate or recurse without limit.
 */
#ifndef verdict__yamltree_h
#define verdict__yamltree_h

#include <stddef.h>

#include "verdict/error.h"

#define VD_YAML_MAX_BYTES (1024 * 1024)
#define VD_YAML_MAX_NODES 20000
#define VD_YAML_MAX_DEPTH 16

typedef enum vd_ynode_kind {
    VD_YNODE_SCALAR,
    VD_YNODE_SEQUENCE,
    VD_YNODE_MAPPING,
} vd_ynode_kind_t;

typedef struct vd_ynode vd_ynode_t;
struct vd_ynode {
    vd_ynode_kind_t kind;
    unsigned line, column; /* 1-based */
    char *scalar;          /* SCALAR: NUL-terminated value */
    int quoted;            /* SCALAR: written in quotes (so never a number or boolean) */
    vd_ynode_t **items;    /* SEQUENCE: items; MAPPING: key, value, key, value, ... */
    size_t count;          /* number of entries in items */
};

typedef struct vd_ydoc {
    vd_ynode_t *root; /* NULL for an empty document */
    size_t nodes;
} vd_ydoc_t;

/**
 * Parse one YAML document. `filename` is used in messages ("file:line:col: ..."), and `what`
 * names the kind of file in the plural ("policies", "configuration files": "YAML anchors are
 * not allowed in policies"). On error returns VD_E_MALFORMED or VD_E_TOO_LARGE and leaves *doc
 * empty. Caller frees with vd_ydoc_free.
 */
vd_err_t vd_ydoc_parse(const char *text, size_t len, const char *filename, const char *what,
                       vd_ydoc_t *doc, vd_error_t *err);

void vd_ydoc_free(vd_ydoc_t *doc);

/** Value of `key` in a MAPPING, or NULL. */
const vd_ynode_t *vd_ynode_get(const vd_ynode_t *map, const char *key);

/** "mapping", "sequence" or "scalar". */
const char *vd_ynode_kind_name(vd_ynode_kind_t k);

#endif
