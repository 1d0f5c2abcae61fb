#include "core.h"

namespace flm {
void RegisterTensor(Napi::Env, Napi::Object);
void RegisterMath(Napi::Env, Napi::Object);
void RegisterShape(Napi::Env, Napi::Object);
void RegisterNn(Napi::Env, Napi::Object);
void RegisterIo(Napi::Env, Napi::Object);
void RegisterDist(Napi::Env, Napi::Object);
}  // namespace flm

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  flm::RegisterTensor(env, exports);
  flm::RegisterMath(env, exports);
  flm::RegisterShape(env, exports);
  flm::RegisterNn(env, exports);
  flm::RegisterIo(env, exports);
  flm::RegisterDist(env, exports);
  return exports;
}

NODE_API_MODULE(flm_native, Init)
