/*
 * YAML document tree from libyaml events (see include/verdict/yamltree.h).
 *
 * Trust boundary: policy files come from operators, but also through the admin API and GitOps
 * syncs, and configuration files from whoever deploys the service; both are parsed as untrusted
 * input with every size bounded. Recursion (in the free
 * only) is bounded by VD_YAML_MAX_DEPTH.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "verdict/yamltree.h"

static void node_free(vd_ynode_t *n)
{
    if (n == NULL) {
        return;
    }
    for (size_t i = 0; i < n->count; i++) {
        node_free(n->items[i]);
    }
    free(n->items);
    free(n->scalar);
    free(n);
}

void vd_ydoc_free(vd_ydoc_t *doc)
{
    node_free(doc->root);
    doc->root = NULL;
    doc->nodes = 0;
}

const char *vd_ynode_kind_name(vd_ynode_kind_t k)
{
    switch (k) {
    case VD_YNODE_SCALAR:
        return "scalar";
    case VD_YNODE_SEQUENCE:
        return "sequence";
    case VD_YNODE_MAPPING:
        return "mapping";
    }
    return "node";
}

const vd_ynode_t *vd_ynode_get(const vd_ynode_t *map, const char *key)
{
    if (map == NULL || map->kind != VD_YNODE_MAPPING) {
        return NULL;
    }
    for (size_t i = 0; i + 1 < map->count; i += 2) {
        if (map->items[i]->kind == VD_YNODE_SCALAR && strcmp(map->items[i]->scalar, key) == 0) {
            return map->items[i + 1];
        }
    }
    return NULL;
}

static vd_err_t append(vd_ynode_t *parent, vd_ynode_t *child, vd_error_t *err)
{
    vd_ynode_t **items = realloc(parent->items, (parent->count + 1) * sizeof(vd_ynode_t *));
    if (items == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory parsing YAML");
    }
    parent->items = items;
    parent->items[parent->count++] = child;
    return VD_OK;
}

/* Only the plain core-schema tags are meaningful in a policy or configuration; anything else is a
 * mistake (including other yaml.org tags such as !!python/object or !!binary). */
static int tag_ok(const yaml_char_t *tag)
{
    static const char *const core[] = {"str", "int", "float", "bool", "null", "seq", "map"};
    if (tag == NULL) {
        return 1;
    }
    if (strncmp((const char *)tag, "tag:yaml.org,2002:", 18) != 0) {
        return 0;
    }
    for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++) {
        if (strcmp((const char *)tag + 18, core[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

vd_err_t vd_ydoc_parse(const char *text, size_t len, const char *filename, const char *what,
                       vd_ydoc_t *doc, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    yaml_parser_t parser;
    yaml_event_t ev;
    vd_ynode_t *stack[VD_YAML_MAX_DEPTH + 1];
    size_t depth = 0;
    int have_event = 0, documents = 0;
    memset(doc, 0, sizeof(*doc));
    if (len > VD_YAML_MAX_BYTES) {
        return VD_ERR(err, VD_E_TOO_LARGE, "%s: %zu bytes, %s are limited to %d", filename, len,
                      what, VD_YAML_MAX_BYTES);
    }
    if (!yaml_parser_initialize(&parser)) {
        return VD_ERR(err, VD_E_NOMEM, "%s: cannot initialise the YAML parser", filename);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    for (;;) {
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = VD_ERR(err, VD_E_MALFORMED, "%s:%zu:%zu: YAML syntax error: %s%s%s", filename,
                        parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                        parser.problem ? parser.problem : "unknown", parser.context ? " " : "",
                        parser.context ? parser.context : "");
            goto out;
        }
        have_event = 1;
        unsigned line = (unsigned)ev.start_mark.line + 1, col = (unsigned)ev.start_mark.column + 1;
        vd_ynode_t *node = NULL;
        const yaml_char_t *anchor = NULL, *tag = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            goto out;
        case YAML_DOCUMENT_START_EVENT:
            if (++documents > 1) {
                rc = VD_ERR(err, VD_E_MALFORMED,
                            "%s:%u:%u: more than one YAML document; %s hold one", filename, line,
                            col, what);
                goto out;
            }
            break;
        case YAML_ALIAS_EVENT:
            rc = VD_ERR(err, VD_E_MALFORMED, "%s:%u:%u: YAML aliases (*%s) are not allowed in %s",
                        filename, line, col, (const char *)ev.data.alias.anchor, what);
            goto out;
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (ev.type == YAML_SCALAR_EVENT) {
                anchor = ev.data.scalar.anchor;
                tag = ev.data.scalar.tag;
            } else if (ev.type == YAML_SEQUENCE_START_EVENT) {
                anchor = ev.data.sequence_start.anchor;
                tag = ev.data.sequence_start.tag;
            } else {
                anchor = ev.data.mapping_start.anchor;
                tag = ev.data.mapping_start.tag;
            }
            if (anchor != NULL) {
                rc = VD_ERR(err, VD_E_MALFORMED,
                            "%s:%u:%u: YAML anchors (&%s) are not allowed in %s", filename, line,
                            col, (const char *)anchor, what);
                goto out;
            }
            if (!tag_ok(tag)) {
                rc = VD_ERR(err, VD_E_MALFORMED, "%s:%u:%u: YAML tag %s is not allowed", filename,
                            line, col, (const char *)tag);
                goto out;
            }
            if (++doc->nodes > VD_YAML_MAX_NODES) {
                rc = VD_ERR(err, VD_E_TOO_LARGE, "%s:%u:%u: more than %d YAML nodes", filename,
                            line, col, VD_YAML_MAX_NODES);
                goto out;
            }
            node = calloc(1, sizeof(*node));
            if (node == NULL) {
                rc = VD_ERR(err, VD_E_NOMEM, "out of memory parsing YAML");
                goto out;
            }
            node->line = line;
            node->column = col;
            if (ev.type == YAML_SCALAR_EVENT) {
                node->kind = VD_YNODE_SCALAR;
                node->quoted = ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
                if (memchr(ev.data.scalar.value, 0, ev.data.scalar.length) != NULL) {
                    free(node);
                    rc = VD_ERR(err, VD_E_MALFORMED, "%s:%u:%u: NUL byte in a value", filename,
                                line, col);
                    goto out;
                }
                node->scalar = strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
                if (node->scalar == NULL) {
                    free(node);
                    rc = VD_ERR(err, VD_E_NOMEM, "out of memory parsing YAML");
                    goto out;
                }
            } else {
                node->kind =
                    ev.type == YAML_SEQUENCE_START_EVENT ? VD_YNODE_SEQUENCE : VD_YNODE_MAPPING;
            }
            /* Attach to the parent (or make it the root), then descend into containers. */
            if (depth == 0) {
                doc->root = node;
            } else if ((rc = append(stack[depth - 1], node, err)) != VD_OK) {
                node_free(node);
                goto out;
            }
            if (node->kind != VD_YNODE_SCALAR) {
                if (depth >= VD_YAML_MAX_DEPTH) {
                    rc = VD_ERR(err, VD_E_TOO_LARGE, "%s:%u:%u: nested deeper than %d levels",
                                filename, line, col, VD_YAML_MAX_DEPTH);
                    goto out;
                }
                stack[depth++] = node;
            }
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            /* libyaml balances start and end events; never trust that with an array index. */
            if (depth > 0) {
                depth--;
            }
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        have_event = 0;
    }
out:
    if (have_event) {
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (rc != VD_OK) {
        vd_ydoc_free(doc);
    }
    return rc;
}
