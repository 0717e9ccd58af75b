/* validate/uri.h (private): RFC 3986 reference resolution for $id/$ref. */
#ifndef DG_VALIDATE_URI_H
#define DG_VALIDATE_URI_H

#include "common/buf.h"

/* Resolves ref against base (both may be relative; an empty base means no
 * base) into out (reset first). 0 or DG_ENOMEM. */
int dg_uri_resolve(const char *base, const char *ref, dg_buf *out);

/* Length of s up to (not including) '#'. */
size_t dg_uri_strip_fragment(const char *s);

#endif
