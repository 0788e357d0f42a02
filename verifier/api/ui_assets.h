/*
 * The policy playground's static files (issue #14), compiled into the binary by
 * cmake/VerdictEmbed.cmake from verifier/api/ui/. Internal to verifier/api/.
 */
#ifndef verdict__api_ui_assets_h
#define verdict__api_ui_assets_h

#include <stddef.h>

typedef struct vd_ui_asset {
    const char *name; /* "index.html": the path under /ui/ */
    const unsigned char *data;
    size_t len;
} vd_ui_asset_t;

extern const vd_ui_asset_t vd_ui_assets[];
extern const size_t vd_ui_assets_count;

#endif
