// Declares every exported op (flm::op::<CppFunction>) from the table in ops.def.
#pragma once

#include <napi.h>

namespace flm::op {
#define FLM_OP_DEF(JS_NAME, CPP_FN, TS_SIGNATURE) Napi::Value CPP_FN(const Napi::CallbackInfo& info);
#include "ops.def"
#undef FLM_OP_DEF
}  // namespace flm::op
