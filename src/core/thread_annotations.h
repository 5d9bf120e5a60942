#pragma once

// Clang thread-safety annotations (checked by a clang build with -Wthread-safety; no-ops under
// GCC). Mark mutex-guarded members: `int count_ LOOM_GUARDED_BY(mu_);`.

#if defined(__clang__)
#define LOOM_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define LOOM_THREAD_ANNOTATION(x)
#endif

#define LOOM_GUARDED_BY(mu) LOOM_THREAD_ANNOTATION(guarded_by(mu))
#define LOOM_PT_GUARDED_BY(mu) LOOM_THREAD_ANNOTATION(pt_guarded_by(mu))
#define LOOM_REQUIRES(...) LOOM_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define LOOM_EXCLUDES(...) LOOM_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
