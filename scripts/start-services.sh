#!/usr/bin/env bash
# Starts the local servers that tests need (none yet beyond what tests start themselves).
set -euo pipefail
exit 0
