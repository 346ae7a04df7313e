/* www: the page's files (dash/www/), embedded in the binary at build time by
 * cmake/embed_dir.cmake, so an installed bfq serves its page with no file of the source tree. */
#ifndef BFQ_DASH_WWW_H
#define BFQ_DASH_WWW_H

#include <stddef.h>

struct dash_file {
    const char *path;          /* "/index.html" */
    const char *type;          /* Content-Type */
    const unsigned char *data; /* len bytes (NUL after them) */
    size_t len;
};

extern const struct dash_file dash_www_files[];
extern const int dash_www_count;

#endif
