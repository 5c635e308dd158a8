#!/bin/sh
# make check entry: the kernel matrix that CI proves, each kernel and mode running tests/vm/e2e.sh.
here=$(cd "$(dirname "$0")" && pwd)
NT_VM_TEST=${NT_VM_TEST:-$here/e2e.sh}
NT_VM_MATRIX=${NT_VM_MATRIX:-"linux-image-amd64:kprobe linux-image-amd64:fentry linux-image-amd64:guess linux-image-6.12-amd64:auto"}
export NT_VM_TEST NT_VM_MATRIX
exec sh "$here/suite.sh"
