// The module entry point: the environment's data, and every op of ops.def under its JavaScript name.
#include "core.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Per environment (the main thread, each worker): the tensor table and the error class.
  auto* data = new flm::EnvData();
  data->env = env;
  env.SetInstanceData(data);
#define FLM_OP_DEF(JS_NAME, CPP_FN, TS_SIGNATURE) \
  exports.Set(#JS_NAME, Napi::Function::New(env, flm::op::CPP_FN, #JS_NAME));
#include "ops.def"
#undef FLM_OP_DEF
  return exports;
}

NODE_API_MODULE(flm_native, Init)
