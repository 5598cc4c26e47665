/* rustc-expand-cache backend, C ABI version 1. See cache-backend/ABI.md. */
#ifndef RUSTC_EXPAND_CACHE_H
#define RUSTC_EXPAND_CACHE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define REC_ABI_VERSION 1

/* open flags */
#define REC_OPEN_READ_ONLY 1u

/* status codes */
#define REC_OK 0
#define REC_HIT 1                /* get only */
#define REC_E_IO (-1)
#define REC_E_CORRUPT (-2)       /* store corrupt, moved aside unless read-only; the next open starts fresh */
#define REC_E_READ_ONLY (-3)
#define REC_E_UNSUPPORTED_FS (-4)
#define REC_E_BAD_ARG (-5)
#define REC_E_PANIC (-6)
#define REC_E_MAP_FULL (-7)
#define REC_E_UNTRUSTED (-8)
#define REC_E_BAD_CONFIG (-9)

/* macro kinds */
#define REC_KIND_BANG 0
#define REC_KIND_ATTRIBUTE 1
#define REC_KIND_DERIVE 2

typedef struct RecStore RecStore;                                /* opaque */
typedef struct { const uint8_t *ptr; size_t len; } RecSlice;     /* borrowed */
typedef struct { uint8_t *ptr; size_t len; size_t cap; } RecBuf; /* owned by the backend */

typedef struct {
    RecSlice macro_crate;   /* e.g. "serde_derive" */
    RecSlice macro_name;    /* e.g. "Serialize" */
    uint8_t  kind;          /* 0 = bang, 1 = attribute, 2 = derive */
    uint64_t expand_nanos;  /* how long the real expansion took */
} RecEntryMeta;

typedef struct {            /* one compiler session's counters */
    uint64_t hits, misses, stored, uncacheable;
    uint64_t lookup_nanos;  /* time spent in lookups, decode and replay */
    uint64_t saved_nanos;   /* sum of expand_nanos of the entries hit */
} RecSessionStats;

typedef struct {
    uint32_t abi_version;   /* 1 */
    uint32_t struct_size;   /* sizeof(ExpandCacheApiV1): later versions only append */
    int32_t (*open)(RecSlice dir, RecSlice namespace_, uint32_t flags, RecStore **out);
    int32_t (*get)(RecStore *s, RecSlice key, RecBuf *out);   /* 1 hit, 0 miss, <0 error */
    void    (*free_buf)(RecBuf buf);
    int32_t (*put)(RecStore *s, RecSlice key, RecSlice value, const RecEntryMeta *meta); /* buffered */
    int32_t (*commit)(RecStore *s);                            /* one write transaction */
    int32_t (*record_stats)(RecStore *s, const RecSessionStats *stats); /* buffered, written by commit */
    size_t  (*last_error)(const RecStore *s, uint8_t *buf, size_t cap); /* s may be NULL: last open error of this thread; returns full length */
    void    (*close)(RecStore *s);                             /* drops uncommitted puts */
} ExpandCacheApiV1;

/* The only exported symbol of librustc_expand_cache.so. */
const ExpandCacheApiV1 *rustc_expand_cache_v1(void);

#ifdef __cplusplus
}
#endif

#endif /* RUSTC_EXPAND_CACHE_H */
