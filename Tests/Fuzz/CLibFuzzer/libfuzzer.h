// libFuzzer's driver entry point (compiler-rt, FuzzerDriver.cpp). The fuzz
// executables are SwiftPM executable targets, whose `main` SwiftPM binds to
// `<Target>_main` at link time; that `main` calls this driver instead of
// relying on libFuzzer's own `main`. Linked by `-sanitize=fuzzer`.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv,
                        int (*callback)(const uint8_t *data, size_t size));
