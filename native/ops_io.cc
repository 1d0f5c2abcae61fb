// Guarded import of PyTorch `torch.save` files through libtorch's own unpickler.
// Pickle can run arbitrary constructors in Python; libtorch's unpickler only rebuilds tensors and
// plain containers, but the JS layer still refuses it unless the caller explicitly allows it.
#include <torch/csrc/jit/serialization/pickle.h>

#include "core.h"

namespace flm {

static void FlattenInto(Napi::Env env, const c10::IValue& v, const std::string& prefix, Napi::Array& out, uint32_t& n) {
  if (v.isTensor()) {
    auto pair = Napi::Array::New(env, 2);
    pair.Set(0u, Napi::String::New(env, prefix));
    pair.Set(1u, Wrap(env, v.toTensor()));
    out.Set(n++, pair);
    return;
  }
  if (v.isGenericDict()) {
    for (const auto& kv : v.toGenericDict()) {
      if (!kv.key().isString()) continue;
      std::string k = kv.key().toStringRef();
      FlattenInto(env, kv.value(), prefix.empty() ? k : prefix + "." + k, out, n);
    }
    return;
  }
  if (v.isList() || v.isTuple()) {
    auto elems = v.isList() ? v.toListRef().vec() : v.toTupleRef().elements().vec();
    for (size_t i = 0; i < elems.size(); i++)
      FlattenInto(env, elems[i], prefix.empty() ? std::to_string(i) : prefix + "." + std::to_string(i), out, n);
  }
  // other leaves (numbers, strings, None) are not tensors: ignored
}

// pickleLoad(buffer) -> [[name, tensor], ...] (nested dicts flattened with dots)
FLM_FN(PickleLoad) {
  FLM_OP("pickleLoad")
  if (!info[0].IsBuffer() && !info[0].IsTypedArray()) ThrowArg(kOp, "argument 0 must be a Buffer");
  auto ta = info[0].As<Napi::TypedArray>();
  const char* p = static_cast<const char*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  std::vector<char> data(p, p + ta.ByteLength());
  c10::IValue v = torch::jit::pickle_load(data);
  auto out = Napi::Array::New(info.Env());
  uint32_t n = 0;
  FlattenInto(info.Env(), v, "", out, n);
  return out;
  FLM_END
}

// pickleSave(names[], tensors[]) -> Buffer in torch.save's zip format (a dict of tensors)
FLM_FN(PickleSave) {
  FLM_OP("pickleSave")
  if (!info[0].IsArray()) ThrowArg(kOp, "argument 0 must be an array of names");
  auto names = info[0].As<Napi::Array>();
  auto ts = TList(info, 1, kOp);
  if (names.Length() != ts.size()) ThrowArg(kOp, "names and tensors differ in length");
  c10::Dict<std::string, at::Tensor> d;
  for (uint32_t i = 0; i < names.Length(); i++) {
    Napi::Value nv = names.Get(i);
    if (!nv.IsString()) ThrowArg(kOp, "names must be strings");
    d.insert(nv.As<Napi::String>().Utf8Value(), ts[i].detach());
  }
  std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(d));
  return Napi::Buffer<char>::Copy(info.Env(), bytes.data(), bytes.size());
  FLM_END
}

}  // namespace flm
