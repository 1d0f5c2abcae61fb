// Whether the fused CPU kernels (fused.h) run.
#include <cstdlib>
#include <cstring>

#include "fused.h"

namespace flm {

bool FusedKernelsUsable() {
  static const bool usable = [] {
    const char* e = std::getenv("FLM_FUSED_KERNELS");
    if (e != nullptr && std::strcmp(e, "0") == 0) return false;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
  }();
  return usable;
}

}  // namespace flm
