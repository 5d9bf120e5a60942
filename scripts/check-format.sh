#!/usr/bin/env bash
# Fails if a tracked C++ file differs from what clang-format (the repo's .clang-format) makes of it.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r f; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "check-format: $f is not formatted (run: make format)"
    bad=1
  fi
done < <(git ls-files '*.h' '*.cc')
exit $bad
