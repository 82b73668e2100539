/* Why a JSON text failed to parse, when the parser cannot say: cJSON stops at
 * CJSON_NESTING_LIMIT levels of arrays and objects and reports only where it stopped, which
 * reads as a syntax error at that byte. */
#ifndef REUSENET_JSON_DEPTH_H
#define REUSENET_JSON_DEPTH_H

#include <stddef.h>

/* The deepest nesting of arrays and objects in text (brackets inside strings not counted). */
size_t json_depth(const char *text, size_t len);

#endif
