#!/usr/bin/env bash
# Installs what minivmm needs, builds it, and boots the default guest on the serial console.
# Quit the console with Ctrl-A x.
set -euo pipefail
cd "$(dirname "$0")/.."

./tools/install-deps.sh
./tools/build.sh build

echo "quickstart: booting the hello test guest (build/minivmm run --kernel build/guest-images/testguests/hello.elf)" >&2
exec build/minivmm run --kernel build/guest-images/testguests/hello.elf
