/* jansson objects without a format string (include/verdict/jsonbuild.h). */
#include "verdict/jsonbuild.h"

json_t *vd_json_object_of(const char *const *names, json_t **values, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        if (o != NULL &&
            (values[i] == NULL || json_object_set_new_nocheck(o, names[i], values[i]) != 0)) {
            json_decref(o); /* set_new took values[i] */
            o = NULL;
        } else if (o == NULL) {
            json_decref(values[i]);
        }
    }
    return o;
}
